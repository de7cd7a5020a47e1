"""Coupons and checkout sessions made from the dashboard, in a real browser.

An owner makes coupons (a percentage for some months, an amount off once, typed with the keyboard)
and sees the coupon service's refusals beside the form with what they typed; they make a checkout
session for an offered price and copy its hosted link. A viewer sees neither form, and a forged
post is refused (403) with nothing made.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.models import CheckoutSession, Coupon
from tests.auth.signin import join, owner_of_new_workspace
from tests.fixtures.platform import Platform, monthly_price
from tests.web.checkout_flow import capture
from tests.web.dashboard_session import signed_in_page


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: type, ws: str) -> int:
    async with sessionmaker() as db:
        found = await db.scalar(
            select(func.count()).select_from(model).where(model.workspace_id == ws)  # type: ignore[attr-defined]
        )
        return int(found or 0)


async def test_an_owner_makes_coupons_and_sees_refusals_beside_the_form(
    client: httpx.AsyncClient,
    api_server: str,
    browser: Browser,
    screenshots: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    page = await signed_in_page(browser, api_server, owner.wallet, ws)
    await page.get_by_role("link", name="Coupons").click()
    await expect(page.locator("[data-empty]")).to_contain_text("No coupons yet")
    await capture(page, screenshots, "coupons-form", prefix="dashboard")

    # When the percentage is beyond 100: refused beside the form, what they typed kept
    await page.get_by_label("Name").fill("Launch")
    await page.get_by_label("Percent off").fill("150")
    await page.get_by_role("button", name="Create coupon").click()
    refusal = page.locator("#coupon-error")
    await expect(refusal).to_have_attribute("data-error", "parameter_invalid")
    await expect(refusal).to_have_attribute("data-param", "percent_off")
    await expect(page.get_by_label("Percent off")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Percent off")).to_have_value("150")
    await expect(page.get_by_label("Name")).to_have_value("Launch")
    await capture(page, screenshots, "coupon-refused", prefix="dashboard")
    # And a repeating coupon without its months
    await page.get_by_label("Percent off").fill("25")
    await page.get_by_label("Duration").select_option("repeating")
    await page.get_by_role("button", name="Create coupon").click()
    await expect(refusal).to_have_attribute("data-error", "coupon_duration_invalid")
    await expect(page.get_by_label("Duration")).to_have_value("repeating")
    assert await _count(sessionmaker, Coupon, ws) == 0

    # Then with its months, a limit and a last day: made, and listed
    await page.get_by_label("Months").fill("3")
    await page.get_by_label("Most redemptions").fill("100")
    await page.get_by_label("Redeem by").fill("2026-12-31")
    await page.get_by_role("button", name="Create coupon").click()
    await expect(page.locator("[data-notice]")).to_have_text("Coupon created.")
    row = page.locator("[data-row]")
    await expect(row).to_contain_text("Launch (25% off)")
    await expect(row).to_contain_text("repeating (3 months)")
    await expect(row).to_contain_text("0 of 100")

    # And an amount off, once, with the keyboard alone: the radio by arrow, Enter to send
    await page.get_by_label("A percentage off").focus()
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_label("An amount off")).to_be_checked()
    await page.get_by_label("Amount off", exact=True).focus()
    await page.keyboard.type("5.00")
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-notice]")).to_have_text("Coupon created.")
    await expect(page.locator("[data-row]")).to_have_count(2)
    await capture(page, screenshots, "coupons", prefix="dashboard")
    async with sessionmaker() as db:
        made = (await db.scalars(select(Coupon).where(Coupon.workspace_id == ws))).all()
        by_kind = {c.duration.value: c for c in made}
    repeating, once = by_kind["repeating"], by_kind["once"]
    assert (repeating.percent_off_bp, repeating.duration_in_months) == (2500, 3)
    assert repeating.max_redemptions == 100
    assert repeating.redeem_by == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert (once.amount_off, once.currency, once.percent_off_bp) == (500, "usd", None)

    # And the audit log has both, by the owner
    await page.get_by_role("link", name="Audit log").click()
    actions = await page.locator("[data-action]").all_inner_texts()
    assert actions.count("coupon.created") == 2


async def test_a_viewer_sees_no_offer_form_and_a_forged_post_makes_nothing(
    client: httpx.AsyncClient,
    api_server: str,
    browser: Browser,
    screenshots: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    viewer, _ = await join(client, owner, ws, "viewer")
    page = await signed_in_page(browser, api_server, viewer.wallet, ws)
    base = f"{api_server}/dashboard/{ws}/test"
    for section in ("coupons", "checkout_sessions"):
        await page.goto(f"{base}/{section}")
        await expect(page.locator("main form")).to_have_count(0)
        await expect(page.get_by_role("button", name="Create coupon")).to_have_count(0)
        await capture(page, screenshots, f"{section}-viewer", prefix="dashboard")

    csrf = await page.locator("input[name=csrf_token]").first.input_value()
    coupon = await page.request.post(
        f"{base}/coupons",
        form={"csrf_token": csrf, "kind": "percent", "percent_off": "50", "duration": "forever"},
    )
    checkout = await page.request.post(
        f"{base}/checkout_sessions", form={"csrf_token": csrf, "price": "price_x", "quantity": "1"}
    )

    assert (coupon.status, checkout.status) == (403, 403)
    assert await _count(sessionmaker, Coupon, ws) == 0
    assert await _count(sessionmaker, CheckoutSession, ws) == 0


async def test_an_owner_makes_a_checkout_session_and_copies_its_link(
    platform: Platform, browser: Browser, screenshots: Path
) -> None:
    async with httpx.AsyncClient(base_url=platform.api_url) as api:
        owner, ws = await owner_of_new_workspace(api, "Acme")
        made = await api.post(
            "/v1/api_keys", json={"name": "shop", "mode": "test"}, headers=owner.headers(ws)
        )
    key = {"Authorization": f"Bearer {made.json()['secret']}"}
    page = await signed_in_page(browser, platform.api_url, owner.wallet, ws)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    # Given no price yet: the form says what is missing
    await page.get_by_role("link", name="Checkouts").click()
    await expect(page.locator("[data-no-prices]")).to_contain_text("Add an active recurring price")
    await expect(page.locator("[data-empty]")).to_be_visible()
    await capture(page, screenshots, "checkout-sessions-no-price", prefix="dashboard")

    # When there is a price but no payout address: the checkout service's refusal, inline
    async with httpx.AsyncClient(base_url=platform.api_url, headers=key) as shop:
        await monthly_price(shop, name="Team plan")
        await page.reload()
        await page.get_by_label("Quantity").fill("2")
        await page.get_by_role("button", name="Create checkout session").click()
        await expect(page.locator("#checkout-error")).to_have_attribute(
            "data-error", "payout_address_missing"
        )
        await expect(page.get_by_label("Quantity")).to_have_value("2")
        await capture(page, screenshots, "checkout-session-refused", prefix="dashboard")
        payout = await shop.post(
            "/v1/payout_addresses/local",
            json={"address": platform.chain.new_account(ether=0).address},
        )
        assert payout.status_code == 200, payout.text

    # Then it is made: its hosted link shown, copied with one button, and listed
    await page.get_by_label("Price").select_option(label="Team plan · $19.99 per month")
    await page.get_by_label("Customer email").fill("jo@shop.example")
    await page.get_by_role("button", name="Create checkout session").click()
    created = page.locator("[data-created]")
    await expect(created).to_be_visible()
    url = await page.locator("[data-checkout-url]").input_value()
    checkout_id = await created.get_attribute("data-created")
    assert f"/pay/{checkout_id}?key=" in url
    await page.get_by_role("button", name="Copy link").click()
    await expect(page.locator("[data-copied]")).to_have_text("Link copied.")
    assert await page.evaluate("navigator.clipboard.readText()") == url
    row = page.locator(f"[data-row={checkout_id}]")
    await expect(row).to_contain_text("$39.98")
    await expect(row).to_contain_text("jo@shop.example")
    await expect(row).to_contain_text("open")
    await capture(page, screenshots, "checkout-session-created", prefix="dashboard")
    # And reloading shows it again without making another
    await page.reload()
    await expect(page.locator("[data-row]")).to_have_count(1)

    # And the link opens the customer's checkout (the URL names the deployment's public URL)
    hosted = urlsplit(url)
    opened = await page.goto(f"{platform.api_url}{hosted.path}?{hosted.query}")
    assert opened is not None
    assert opened.status == 200
