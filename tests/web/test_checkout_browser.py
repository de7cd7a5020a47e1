"""The hosted checkout in a real browser, end to end on anvil with the real framework and signer.

The merchant makes a session with the API; the customer opens its URL (no key), reads the terms
in words, connects the test wallet (`tests.web.wallet`), signs, sees the first charge confirmed
and lands on success_url, and the transfer is on chain. A rejection in the wallet shows its state
and creates nothing. Every state is captured at both widths and checked with axe
(`tests.web.checkout_flow.capture`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, Platform, customer_account
from tests.web.checkout_flow import (
    PHONE,
    SUCCESS_URL,
    capture,
    checkout_session,
    nothing_created,
    wallet_context,
)
from tests.web.wallet import FakeWallet


async def test_a_customer_subscribes_from_the_hosted_page_and_is_charged_on_chain(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = customer_account(chain)
    session = await checkout_session(platform, workspace, merchant)
    wallet = FakeWallet(customer, rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet)
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
    await capture(page, screenshots, "open")

    # When the customer connects: the wallet is switched to the session's chain and the terms,
    # decoded from the delegation the server fixed, are shown in words before any signature
    await page.get_by_role("button", name="Connect Test Wallet").click()
    sentence = page.locator("[data-term=sentence]")
    await expect(sentence).to_be_visible()
    await expect(sentence).to_contain_text("up to 19.99 USDC every 28 days, only to ")
    await expect(sentence).to_contain_text(f"only to {merchant}, until ")
    await expect(sentence).to_contain_text("revocable at any time")
    await expect(page.locator("[data-term=window-note]")).to_have_text(
        "You are charged once a month. The permission counts every 28 days, the shortest a month "
        "can be, so each charge falls in a window of its own and no window can allow more than one."
    )
    await expect(page.locator("[data-term=first_charge]")).to_have_text("19.99 USDC is charged now")
    await expect(page.locator("[data-notice=funds]")).to_be_hidden()
    assert wallet.chain_id == platform.registry.get("local").chain_id
    assert "eth_signTypedData_v4" not in wallet.calls
    assert {"eth_getCode", "eth_call"} <= set(wallet.calls)
    await capture(page, screenshots, "review")

    # And approves: the wallet has no ERC-7715, so it signs; charged, confirmed, then success_url
    await page.get_by_role("button", name="Approve in wallet").click()
    done = page.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_have_text("You are subscribed")
    signed_to_confirmed = await page.evaluate(
        "() => performance.measure('signed-to-confirmed', 'cyphera:granted', "
        "'cyphera:confirmed').duration"
    )
    # A figure to read with -s, not an assertion: no timed assertions.
    print(f"\nsignature → first charge confirmed shown: {signed_to_confirmed:.0f} ms")  # noqa: T201
    assert wallet.calls.index("wallet_requestExecutionPermissions") < wallet.calls.index(
        "eth_signTypedData_v4"
    )
    tx_hash = await page.locator("[data-progress=tx-done]").text_content()
    assert tx_hash is not None
    assert tx_hash.startswith("0x")
    assert len(tx_hash) == 66
    await page.wait_for_url(SUCCESS_URL)

    # Then the transfer happened on chain, and the page now says the checkout is complete
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    again = await context.new_page()
    await again.goto(session["page"])
    await expect(again.locator("h1")).to_have_text("This checkout is complete")
    await expect(again.locator(".tx")).to_contain_text(tx_hash)
    await capture(again, screenshots, "complete")
    assert errors == []
    await context.close()


async def test_the_done_state_is_shown_and_accessible_before_the_redirect(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    # Without success_url the page stays on "done", so it can be captured and checked.
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    session = await checkout_session(platform, workspace, merchant, success_url=None)
    wallet = FakeWallet(customer_account(chain), rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet)
    page = await context.new_page()
    await page.goto(session["page"])
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await page.get_by_role("button", name="Approve in wallet").click()
    done = page.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_have_text("You are subscribed")
    await expect(page.locator("[data-progress=redirect]")).to_be_hidden()
    await capture(page, screenshots, "done")
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    await context.close()


async def _tab_to(page: Page, name: str, *, limit: int = 30) -> None:
    """Press Tab until the focused element is the button or link called `name`."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement && document.activeElement.innerText")
        if focused is not None and focused.strip() == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with the Tab key")


async def test_a_customer_subscribes_with_the_keyboard_alone(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    session = await checkout_session(platform, workspace, merchant, success_url=None)
    wallet = FakeWallet(customer_account(chain), rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet, PHONE)
    page = await context.new_page()
    await page.goto(session["page"])
    await expect(page.get_by_role("button", name="Connect Test Wallet")).to_be_visible()

    await _tab_to(page, "Connect Test Wallet")
    await page.keyboard.press("Enter")
    review = page.locator("[data-step=review] h1")
    await expect(review).to_be_visible()
    await expect(review).to_be_focused()  # the new step's heading takes the focus
    await _tab_to(page, "Approve in wallet")
    await page.keyboard.press("Enter")

    done = page.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_be_focused()
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    await context.close()


async def test_rejecting_in_the_wallet_shows_it_and_creates_nothing(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = customer_account(chain)
    session = await checkout_session(platform, workspace, merchant)
    wallet = FakeWallet(customer, reject={"eth_signTypedData_v4"}, rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet, PHONE)
    page = await context.new_page()
    await page.goto(session["page"])

    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.locator("[data-term=sentence]")).to_contain_text("up to 19.99 USDC")
    await page.get_by_role("button", name="Approve in wallet").click()

    rejected = page.locator("[data-step=rejected] h1")
    await expect(rejected).to_be_visible()
    await expect(rejected).to_have_text("Nothing was signed")
    await expect(rejected).to_be_focused()
    await capture(page, screenshots, "rejected")
    await nothing_created(platform)
    assert chain.token_balance("USDC", merchant) == 0
    await context.close()


async def test_a_wrong_secret_is_not_found_for_the_page_and_its_endpoints(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    merchant = platform.chain.new_account(ether=0).address
    session = await checkout_session(platform, workspace, merchant)
    other = await checkout_session(platform, workspace, merchant)
    wrong = session["page"].replace(session["client_secret"], other["client_secret"])
    base = f"{platform.api_url}/pay/{session['id']}"
    async with httpx.AsyncClient() as http:
        # The page: one 404 for a wrong key, no key, and an unknown session
        for url in (wrong, base, f"{platform.api_url}/pay/cs_nope?key={session['client_secret']}"):
            answer = await http.get(url)
            assert answer.status_code == 404
            assert "Checkout not found" in answer.text
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
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
    await capture(page, screenshots, "not-found")
    await context.close()


async def test_an_expired_checkout_says_so_in_the_browser(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    merchant = platform.chain.new_account(ether=0).address
    session = await checkout_session(platform, workspace, merchant)
    platform.clock.advance(timedelta(hours=25))
    context = await browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = await context.new_page()
    response = await page.goto(session["page"])
    assert response is not None
    assert response.status == 410
    await expect(page.locator("h1")).to_have_text("This checkout has expired")
    await capture(page, screenshots, "expired")
    await context.close()


async def test_without_a_wallet_the_page_says_how_to_get_one(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    merchant = platform.chain.new_account(ether=0).address
    session = await checkout_session(platform, workspace, merchant)
    context = await browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(session["page"])
    heading = page.locator("[data-step=no-wallet] h1")
    await expect(heading).to_be_visible()
    await expect(heading).to_have_text("No wallet found")
    await capture(page, screenshots, "no-wallet")
    await context.close()
