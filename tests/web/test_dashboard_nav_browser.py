"""The dashboard nav at a phone's width (375 px), in a real browser: one row that scrolls
sideways instead of wrapping over half the screen, the current page's link in view when a page
opens, and every link reachable with the keyboard (focus scrolls it into view)."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.auth.signin import owner_of_new_workspace
from tests.web.axe import assert_accessible
from tests.web.dashboard_session import signed_in_page

PHONE = {"width": 375, "height": 740}


async def _inside_nav(page: Page, name: str) -> bool:
    """Whether the link `name` is wholly within the nav's visible part."""
    visible: bool = await page.evaluate(
        """(name) => {
            const nav = document.querySelector('.dash-nav').getBoundingClientRect();
            const link = [...document.querySelectorAll('.dash-nav a')]
                .find((a) => a.textContent.trim() === name).getBoundingClientRect();
            return link.left >= nav.left - 1 && link.right <= nav.right + 1;
        }""",
        name,
    )
    return visible


async def test_the_nav_is_one_scrolling_row_at_phone_width_and_works_with_the_keyboard(
    client: httpx.AsyncClient, api_server: str, browser: Browser, screenshots: Path
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    page = await signed_in_page(browser, api_server, owner.wallet, ws)
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    nav = page.get_by_role("navigation", name="Dashboard")

    # A page deep in the list: its link is shown, the nav is one row that scrolls
    await page.goto(f"{api_server}/dashboard/{ws}/test/audit")
    box = await nav.bounding_box()
    assert box is not None
    assert box["height"] < 60, box  # one row, not six
    sizes = await nav.evaluate("n => [n.scrollWidth, n.clientWidth]")
    assert sizes[0] > sizes[1]
    assert await _inside_nav(page, "Audit log")
    assert not await _inside_nav(page, "Home")
    await page.screenshot(path=str(screenshots / "dashboard-nav-375-audit.png"))
    await assert_accessible(page)

    # When a keyboard user tabs from the first link: each link in turn has the focus, in view
    await page.goto(f"{api_server}/dashboard/{ws}/test")
    assert await _inside_nav(page, "Home")
    await nav.get_by_role("link", name="Home").focus()
    names = []
    for _ in range(await nav.get_by_role("link").count() - 1):
        await page.keyboard.press("Tab")
        name = await page.evaluate("document.activeElement.textContent.trim()")
        names.append(name)
        assert await _inside_nav(page, name), name
    assert names[-1] == "Audit log"
    await page.screenshot(path=str(screenshots / "dashboard-nav-375-keyboard.png"))
    # And Enter follows the focused link
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/dashboard/{ws}/test/audit")
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
