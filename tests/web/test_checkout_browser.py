"""The hosted checkout in a real browser, end to end on anvil with the real framework and signer.

The merchant makes a session with the API; the customer opens its URL (no key), reads the terms
in words, connects the test wallet (`tests.web.wallet`), signs, sees the first charge confirmed
and lands on success_url, and the transfer is on chain. A rejection in the wallet shows its state
and creates nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from cyphera.models import Customer, Permission, Subscription
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, Platform, customer_account, monthly_price
from tests.web.wallet import INIT_SCRIPT, FakeWallet

SUCCESS_URL = "https://shop.example.com/welcome"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


async def _session(platform: Platform, workspace: WorkspaceKeys, merchant: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = await monthly_price(api)
        payout = await api.post("/v1/payout_addresses/local", json={"address": merchant})
        assert payout.status_code == 200, payout.text
        created = await api.post(
            "/v1/checkout/sessions",
            json={"price": price, "networks": ["local"], "success_url": SUCCESS_URL},
        )
        assert created.status_code == 200, created.text
        session = dict(created.json())
        # The URL is made with the deployment's public URL; this API listens on its own port.
        url = urlsplit(session["url"])
        session["page"] = f"{platform.api_url}{url.path}?{url.query}"
        return session


async def _context(
    browser: Browser, wallet: FakeWallet, viewport: dict[str, int]
) -> BrowserContext:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    await context.expose_binding("__wallet", wallet)
    await context.add_init_script(INIT_SCRIPT)
    # success_url is another site: answer it here, as the merchant's page would.
    await context.route(
        SUCCESS_URL,
        lambda route: route.fulfill(status=200, body="<h1>Welcome</h1>", content_type="text/html"),
    )
    return context


async def _shot(page: Page, screenshots: Path, name: str) -> None:
    await page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


async def _nothing_created(platform: Platform) -> None:
    async with platform.sessionmaker() as db:
        for model in (Customer, Permission, Subscription):
            assert await db.scalar(select(func.count()).select_from(model)) == 0


async def test_a_customer_subscribes_from_the_hosted_page_and_is_charged_on_chain(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = customer_account(chain)
    session = await _session(platform, workspace, merchant)
    wallet = FakeWallet(customer)
    context = await _context(browser, wallet, DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Given the page, opened without any key: merchant, product and price
    response = await page.goto(session["page"])
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
    await expect(page.locator(".product")).to_have_text("Pro plan")
    await expect(page.locator(".amount")).to_have_text("$19.99 per month")
    await _shot(page, screenshots, "checkout-open-desktop")

    # When the customer connects: the wallet is switched to the session's chain and the terms,
    # decoded from the delegation the server fixed, are shown in words before any signature
    await page.get_by_role("button", name="Connect Test Wallet").click()
    sentence = page.locator("[data-term=sentence]")
    await expect(sentence).to_be_visible()
    await expect(sentence).to_contain_text("up to 19.99 USDC every 28 days, only to ")
    await expect(sentence).to_contain_text(f"only to {merchant}, until ")
    await expect(sentence).to_contain_text("revocable at any time")
    assert wallet.chain_id == platform.registry.get("local").chain_id
    assert "eth_signTypedData_v4" not in wallet.calls
    await _shot(page, screenshots, "checkout-review-desktop")

    # And approves: signed, charged, confirmed, then sent to success_url
    await page.get_by_role("button", name="Approve in wallet").click()
    done = page.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_have_text("You are subscribed")
    tx_hash = await page.locator("[data-progress=tx-done]").text_content()
    assert tx_hash is not None
    assert tx_hash.startswith("0x")
    assert len(tx_hash) == 66
    await _shot(page, screenshots, "checkout-done-desktop")
    await page.wait_for_url(SUCCESS_URL)

    # Then the transfer happened on chain, and the page now says the checkout is complete
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    again = await context.new_page()
    await again.goto(session["page"])
    await expect(again.locator("h1")).to_have_text("This checkout is complete")
    await expect(again.locator(".tx")).to_contain_text(tx_hash)
    await _shot(again, screenshots, "checkout-complete-desktop")
    assert errors == []
    await context.close()


async def test_rejecting_in_the_wallet_shows_it_and_creates_nothing(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = customer_account(chain)
    session = await _session(platform, workspace, merchant)
    wallet = FakeWallet(customer, reject={"eth_signTypedData_v4"})
    context = await _context(browser, wallet, PHONE)
    page = await context.new_page()
    await page.goto(session["page"])
    await _shot(page, screenshots, "checkout-open-phone")

    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.locator("[data-term=sentence]")).to_contain_text("up to 19.99 USDC")
    await _shot(page, screenshots, "checkout-review-phone")
    await page.get_by_role("button", name="Approve in wallet").click()

    rejected = page.locator("[data-step=rejected] h1")
    await expect(rejected).to_be_visible()
    await expect(rejected).to_have_text("Nothing was signed")
    await _shot(page, screenshots, "checkout-rejected-phone")
    await _nothing_created(platform)
    assert chain.token_balance("USDC", merchant) == 0
    await context.close()


async def test_a_wrong_secret_is_not_found_for_the_page_and_its_endpoints(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    merchant = platform.chain.new_account(ether=0).address
    session = await _session(platform, workspace, merchant)
    other = await _session(platform, workspace, merchant)
    wrong = session["page"].replace(session["client_secret"], other["client_secret"])
    base = f"{platform.api_url}/pay/{session['id']}"
    async with httpx.AsyncClient() as http:
        # The page: one 404 for a wrong key, no key, and an unknown session
        for url in (wrong, base, f"{platform.api_url}/pay/cs_nope?key={session['client_secret']}"):
            page = await http.get(url)
            assert page.status_code == 404
            assert "Checkout not found" in page.text
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        # The JSON endpoints: another session's secret opens nothing of this one
        headers = {"Cyphera-Checkout-Key": other["client_secret"]}
        status = await http.get(f"{base}/status", headers=headers)
        prepare = await http.post(
            f"{base}/prepare",
            headers=headers,
            json={"customer_address": merchant, "network": "local", "token": "USDC"},
        )
        for refused in (status, prepare):
            assert refused.status_code == 404, refused.text
            assert refused.json()["error"]["code"] == "resource_missing"
        # And the right one works
        ok = await http.get(
            f"{base}/status", headers={"Cyphera-Checkout-Key": session["client_secret"]}
        )
        assert ok.json()["status"] == "open"
    context = await browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(wrong)
    await _shot(page, screenshots, "checkout-not-found-phone")
    await context.close()
