"""What the hosted checkout's browser tests share: a session made through the API, a browser
context with the test wallet, every state captured at both widths and checked with axe."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, BrowserContext, Page
from sqlalchemy import func, select

from cyphera.models import Customer, Permission, Subscription
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_CENTS, Platform, monthly_price
from tests.web.axe import assert_accessible
from tests.web.wallet import FakeWallet

SUCCESS_URL = "https://shop.example.com/welcome"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


async def trial_price(api: httpx.AsyncClient, *, days: int) -> str:
    product = (await api.post("/v1/products", json={"name": "Pro plan"})).json()
    price = await api.post(
        "/v1/prices",
        json={
            "product": product["id"],
            "unit_amount": PRICE_CENTS,
            "currency": "usd",
            "recurring": {"interval": "month", "trial_period_days": days},
        },
    )
    assert price.status_code == 200, price.text
    return str(price.json()["id"])


async def checkout_session(
    platform: Platform,
    workspace: WorkspaceKeys,
    merchant: str,
    *,
    trial_days: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A session for the demo price (or one with a trial) on the local chain; ``page`` is its URL
    on this test's API."""
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = (
            await monthly_price(api)
            if trial_days is None
            else await trial_price(api, days=trial_days)
        )
        payout = await api.post("/v1/payout_addresses/local", json={"address": merchant})
        assert payout.status_code == 200, payout.text
        created = await api.post(
            "/v1/checkout/sessions",
            json={"price": price, "networks": ["local"], "success_url": SUCCESS_URL, **extra},
        )
        assert created.status_code == 200, created.text
        session = dict(created.json())
    # The URL is made with the deployment's public URL; this API listens on its own port.
    url = urlsplit(session["url"])
    session["page"] = f"{platform.api_url}{url.path}?{url.query}"
    return session


async def wallet_context(
    browser: Browser, wallet: FakeWallet, viewport: dict[str, int] = DESKTOP
) -> BrowserContext:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    await wallet.install(context)
    # success_url is another site: answer it here, as the merchant's page would.
    await context.route(
        SUCCESS_URL,
        lambda route: route.fulfill(status=200, body="<h1>Welcome</h1>", content_type="text/html"),
    )
    return context


async def capture(page: Page, screenshots: Path, name: str, *, prefix: str = "checkout") -> None:
    """Screenshot the page's current state at desktop and phone width (``<prefix>-<name>-…``),
    and check it with axe at both; the viewport is put back as it was."""
    before = page.viewport_size
    for width, viewport in WIDTHS.items():
        await page.set_viewport_size(viewport)  # type: ignore[arg-type]
        await page.screenshot(
            path=str(screenshots / f"{prefix}-{name}-{width}.png"), full_page=True
        )
        await assert_accessible(page)
    if before is not None:
        await page.set_viewport_size(before)


async def nothing_created(platform: Platform) -> None:
    async with platform.sessionmaker() as db:
        for model in (Customer, Permission, Subscription):
            assert await db.scalar(select(func.count()).select_from(model)) == 0
