"""A payment link in a real browser, end to end on anvil with the real framework and signer.

The merchant makes a link with the API; the customer opens ``/l/plink_…`` (no key), lands on a
new checkout session's hosted page, subscribes with the test wallet, and the first charge is
confirmed on chain. Once deactivated, the same link shows its "no longer active" page, captured
at both widths and checked with axe (`tests.web.checkout_flow.capture`).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, expect

from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, Platform, customer_account, monthly_price
from tests.web.checkout_flow import SUCCESS_URL, capture, wallet_context
from tests.web.wallet import FakeWallet


async def test_a_customer_pays_through_a_payment_link_and_a_dead_link_says_so(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = await monthly_price(api)
        payout = await api.post("/v1/payout_addresses/local", json={"address": merchant})
        assert payout.status_code == 200, payout.text
        made = await api.post(
            "/v1/payment_links",
            json={"price": price, "networks": ["local"], "success_url": SUCCESS_URL},
        )
        assert made.status_code == 200, made.text
        link = made.json()
    # The URL is made with the deployment's public URL; this API listens on its own port.
    link_page = f"{platform.api_url}{urlsplit(link['url']).path}"
    wallet = FakeWallet(customer_account(chain), rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Given the link, opened without any key: a new session's hosted checkout
    response = await page.goto(link_page)
    assert response is not None
    assert response.status == 200
    assert re.search(r"/pay/cs_\w+\?key=", page.url), page.url
    await expect(page.locator(".product")).to_have_text("Pro plan")
    await expect(page.locator(".amount")).to_have_text("$19.99 per month")

    # When the customer connects and approves in the wallet
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.locator("[data-term=sentence]")).to_contain_text(
        "up to 19.99 USDC every 28 days"
    )
    await page.get_by_role("button", name="Approve in wallet").click()
    done = page.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_have_text("You are subscribed")
    await page.wait_for_url(SUCCESS_URL)

    # Then the first charge reached the merchant on chain
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    assert errors == []

    # And once the merchant deactivates the link, it says so instead of opening a checkout
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        off = await api.post(f"/v1/payment_links/{link['id']}", json={"active": False})
        assert off.status_code == 200, off.text
    dead = await context.new_page()
    answered = await dead.goto(link_page)
    assert answered is not None
    assert answered.status == 410
    assert dead.url == link_page
    await expect(dead.locator("h1")).to_have_text("This link is no longer active")
    await capture(dead, screenshots, "inactive", prefix="payment-link")
    await context.close()
