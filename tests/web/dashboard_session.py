"""A member signed in to the dashboard: in a real browser with their wallet (`signed_in_page`),
or over plain HTTP for rendering and authorization tests (`dashboard`: the API's session in the
dashboard cookie, `csrf_of` the token a page rendered)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from eth_account.signers.local import LocalAccount
from playwright.async_api import Browser, Page

from cyphera.web.dashboard.access import COOKIE
from tests.auth.signin import SignedIn
from tests.web.checkout_flow import DESKTOP
from tests.web.wallet import INIT_SCRIPT, FakeWallet

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def signed_in_page(
    browser: Browser, base_url: str, wallet: LocalAccount, workspace_id: str
) -> Page:
    """A page signed in with `wallet` (the test wallet, through the sign-in page), on the
    workspace's test-mode home."""
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    await context.expose_binding("__wallet", FakeWallet(wallet))
    await context.add_init_script(INIT_SCRIPT)
    page = await context.new_page()
    await page.goto(f"{base_url}/dashboard")
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await page.wait_for_url(f"**/dashboard/{workspace_id}/test")
    return page


@asynccontextmanager
async def dashboard(api_server: str, member: SignedIn) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in to the dashboard as `member` (the API's session in the page cookie)."""
    async with httpx.AsyncClient(
        base_url=api_server, headers={"Cookie": f"{COOKIE}={member.token}"}, timeout=10.0
    ) as http:
        yield http


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token the page rendered in its forms (what a browser would post)."""
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


def error_code(page: httpx.Response) -> str | None:
    """The code of the refusal the page shows (``data-error``), if any."""
    found = re.search(r'data-error="([a-z_]+)"', page.text)
    return found.group(1) if found else None
