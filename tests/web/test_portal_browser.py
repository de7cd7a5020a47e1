"""The customer portal in a real browser, end to end on anvil with the real framework and signer.

A customer who subscribed signs in with their wallet (EIP-4361), sees that subscription and no
one else's, reads the permission's terms, and revokes it on chain from the page: their account
sends ``disableDelegation``, the platform reads the revocation from the chain, ends the
subscription, and the next renewal is never attempted. A merchant's portal link opens the portal
for that one customer, who cancels at the period's end with a CSRF-protected form.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from cyphera.delegation.calls import decode_disabled_delegations, encode_disabled_delegations
from cyphera.kit.clock import to_unix
from cyphera.models import CheckoutSession, Event, Invoice, Payment, Permission, Subscription
from cyphera.models.permission import PermissionStatus
from cyphera.permission.revocation import revocation_call
from tests.fixtures.api import MakeWorkspace, WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_UNITS,
    Platform,
    customer_account,
    run_worker_once,
    subscribe,
)
from tests.web.checkout_flow import capture
from tests.web.wallet import INIT_SCRIPT, FakeWallet

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
RETURN_URL = "https://shop.example.com/account"


async def _context(
    browser: Browser, viewport: dict[str, int], wallet: FakeWallet | None = None
) -> BrowserContext:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    if wallet is not None:
        await context.expose_binding("__wallet", wallet)
        await context.add_init_script(INIT_SCRIPT)
    return context


def _watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


async def _subscribed(platform: Platform, workspace: WorkspaceKeys) -> tuple[Any, str, str]:
    """A 7702-upgraded customer with an active, paid subscription; (account, merchant, sub id)."""
    customer = customer_account(platform.chain)
    merchant = platform.chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        completed = await subscribe(api, customer, merchant)
    return customer, merchant, str(completed["subscription"])


async def test_a_customer_signs_in_with_their_wallet_and_revokes_on_chain(
    platform: Platform,
    workspace: WorkspaceKeys,
    make_workspace: MakeWorkspace,
    browser: Browser,
    screenshots: Path,
) -> None:
    chain = platform.chain
    customer, merchant, subscription_id = await _subscribed(platform, workspace)
    # Someone else's subscription at the same merchant: never shown to this customer
    _, _, others = await _subscribed(platform, workspace)
    # The same wallet's subscription at another merchant: shown too, the wallet is theirs
    elsewhere = await make_workspace("Elsewhere")
    async with httpx.AsyncClient(base_url=platform.api_url, headers=elsewhere.headers) as api:
        await subscribe(api, customer, chain.new_account(ether=0).address)
    wallet = FakeWallet(
        customer, chain_id=platform.registry.get("local").chain_id, rpc_url=chain.rpc_url
    )
    context = await _context(browser, DESKTOP, wallet)
    page = await context.new_page()
    errors = _watch_errors(page)

    # Given the portal, signed out: a sign-in page
    response = await page.goto(f"{platform.api_url}/portal")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in (await response.all_headers())["content-security-policy"]
    await expect(page.get_by_role("heading", name="Sign in with your wallet")).to_be_visible()
    await capture(page, screenshots, "sign-in", prefix="portal")

    # When the customer signs in with their wallet (a message, no transaction)
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    assert "personal_sign" in wallet.calls
    assert wallet.sent == []
    cookie = next(c for c in await context.cookies() if c["name"] == "cyphera_portal")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/portal"

    # Then they see their subscriptions at both merchants, and no one else's
    rows = page.locator("[data-subscription]")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="Elsewhere")).to_have_count(1)
    rows = page.locator(f"[data-subscription={subscription_id}]")
    await expect(rows.first).to_contain_text("Acme")
    await expect(rows.first).to_contain_text("Pro plan")
    await expect(rows.first).to_contain_text("$19.99 per month")
    await expect(rows.first).to_contain_text("Active")
    await expect(rows.first).to_contain_text("Next charge")
    await capture(page, screenshots, "home", prefix="portal")
    foreign = await page.goto(f"{platform.api_url}/portal/subscriptions/{others}")
    assert foreign is not None
    assert foreign.status == 404
    await expect(page.get_by_role("heading", name="Subscription not found")).to_be_visible()
    await capture(page, screenshots, "not-found", prefix="portal")
    assert [e for e in errors if "404" not in e] == []
    errors.clear()  # the browser logs the 404 it was just shown

    # And the subscription's page: the permission's on-chain terms, its payments with the tx
    await page.goto(f"{platform.api_url}/portal")
    await rows.first.click()
    sentence = page.locator("[data-term=sentence]")
    await expect(sentence).to_contain_text(f"up to 19.99 USDC every 28 days, only to {merchant}")
    await expect(page.locator("[data-payments]")).to_contain_text("succeeded")
    await capture(page, screenshots, "subscription", prefix="portal")

    # When they revoke on chain: their own account sends disableDelegation
    await page.get_by_role("button", name="Revoke on chain").click()
    await expect(page.locator("[data-notice]")).to_contain_text("revoked on chain", timeout=30_000)
    await expect(page.locator("[data-status]")).to_have_text("Canceled")
    await expect(page.locator("[data-next]")).to_contain_text("you revoked the permission")
    await capture(page, screenshots, "revoked", prefix="portal")
    assert len(wallet.sent) == 1
    receipt = chain.w3.eth.get_transaction_receipt(wallet.sent[0])  # type: ignore[arg-type]
    assert receipt["status"] == 1
    assert receipt["from"] == customer.address

    # Then the chain says the delegation is disabled, and the books agree
    async with platform.sessionmaker() as db:
        subscription = await db.get_one(Subscription, subscription_id)
        permission = await db.get_one(Permission, subscription.permission_id)
        call = revocation_call(permission)
        disabled = chain.w3.eth.call(
            {"to": call.to, "data": encode_disabled_delegations(call.delegation_hash)}
        )
        assert decode_disabled_delegations(bytes(disabled)) is True
        assert permission.status is PermissionStatus.REVOKED
        assert subscription.status.value == "canceled"
        assert subscription.cancellation_reason == "permission_revoked"
        revoked_events = await db.scalar(
            select(func.count()).select_from(Event).where(Event.type == "permission.revoked")
        )
        assert revoked_events == 1
        invoices_before = await db.scalar(select(func.count()).select_from(Invoice)) or 0
        payments_before = await db.scalar(select(func.count()).select_from(Payment)) or 0
        period_end = subscription.current_period_end

    # And to come back, "Subscribe again" opens a new checkout for the same price and wallet
    again = await context.new_page()
    await again.goto(f"{platform.api_url}/portal/subscriptions/{subscription_id}")
    await again.get_by_role("button", name="Subscribe again").click()
    await again.wait_for_url("**/pay/cs_*")
    await expect(again.locator(".product")).to_have_text("Pro plan")
    await expect(again.locator(".amount")).to_have_text("$19.99 per month")
    async with platform.sessionmaker() as db:
        checkout = await db.get_one(CheckoutSession, urlsplit(again.url).path.rsplit("/", 1)[1])
        assert checkout.customer_address == customer.address
        assert checkout.success_url is not None
        assert checkout.success_url.endswith("/portal")

    # And when the period ends and the worker runs, nothing is attempted for it
    paid = chain.token_balance("USDC", merchant)
    assert paid == PRICE_UNITS
    platform.clock.set(period_end + timedelta(seconds=5))
    chain.set_next_block_timestamp(to_unix(period_end) + 5)
    await run_worker_once(platform)
    async with platform.sessionmaker() as db:
        mine = select(Invoice).where(Invoice.subscription_id == subscription_id)
        assert len((await db.scalars(mine)).all()) == 1
        # The other two renewals went on as usual: the worker did run
        assert await db.scalar(select(func.count()).select_from(Invoice)) == invoices_before + 2
        assert await db.scalar(select(func.count()).select_from(Payment)) == payments_before + 2
    assert chain.token_balance("USDC", merchant) == paid

    assert errors == []
    await context.close()


async def test_a_merchant_link_opens_the_portal_for_that_customer_who_cancels(
    platform: Platform,
    workspace: WorkspaceKeys,
    make_workspace: MakeWorkspace,
    browser: Browser,
    screenshots: Path,
) -> None:
    chain = platform.chain
    customer, _, subscription_id = await _subscribed(platform, workspace)
    _, _, others = await _subscribed(platform, workspace)
    # The same wallet also pays another merchant: a link from this one shows only its own
    elsewhere = await make_workspace("Elsewhere")
    async with httpx.AsyncClient(base_url=platform.api_url, headers=elsewhere.headers) as api:
        await subscribe(api, customer, chain.new_account(ether=0).address)
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        sub = (await api.get(f"/v1/subscriptions/{subscription_id}")).json()
        made = await api.post(
            "/v1/billing_portal/sessions",
            json={"customer": sub["customer"], "return_url": RETURN_URL},
        )
        assert made.status_code == 200, made.text
        link = made.json()
    assert link["object"] == "billing_portal.session"
    assert link["expires_at"] - link["created"] == 15 * 60
    url = f"{platform.api_url}{urlsplit(link['url']).path}?{urlsplit(link['url']).query}"

    # Given the link, opened on a phone without any wallet: the portal, for this customer only
    context = await _context(browser, PHONE)
    page = await context.new_page()
    errors = _watch_errors(page)
    await page.goto(url)
    assert urlsplit(page.url).path == "/portal"
    rows = page.locator("[data-subscription]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Acme")
    back = page.get_by_role("link", name="Back to the merchant")
    assert await back.get_attribute("href") == RETURN_URL
    await capture(page, screenshots, "home", prefix="portal")

    # When they open it: by default only "at the end of the period" is offered
    await rows.first.click()
    await expect(page.get_by_role("button", name="Cancel now")).to_have_count(0)
    await capture(page, screenshots, "subscription", prefix="portal")
    csrf = await page.locator("input[name=csrf_token]").first.input_value()

    # And a post without the CSRF token, or for "now", or for someone else's, changes nothing
    cancel = f"{platform.api_url}/portal/subscriptions/{subscription_id}/cancel"
    forged = await page.request.post(cancel, form={"when": "period_end"})
    assert forged.status == 403
    assert "csrf_invalid" in await forged.text()
    refused = await page.request.post(cancel, form={"when": "now", "csrf_token": csrf})
    assert refused.status == 409
    assert "portal_cancel_not_allowed" in await refused.text()
    theirs = await page.request.post(
        f"{platform.api_url}/portal/subscriptions/{others}/cancel",
        form={"when": "period_end", "csrf_token": csrf},
    )
    assert theirs.status == 404
    async with platform.sessionmaker() as db:
        for sid in (subscription_id, others):
            untouched = await db.get_one(Subscription, sid)
            assert untouched.status.value == "active"
            assert untouched.cancel_at_period_end is False

    # When they cancel at the end of the period
    await page.get_by_role("button", name="Cancel at the end of the period").click()
    await expect(page.locator("[data-notice]")).to_contain_text("ends on")
    await expect(page.locator("[data-next]")).to_contain_text("no more charges")
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        after = (await api.get(f"/v1/subscriptions/{subscription_id}")).json()
        assert after["status"] == "active"
        assert after["cancel_at_period_end"] is True
        # And once the merchant lets customers cancel at once, "Cancel now" appears and works
        configured = await api.post(
            "/v1/billing_portal/configuration",
            json={"subscription_cancel": {"mode": "immediately"}},
        )
        assert configured.status_code == 200, configured.text
    await page.reload()
    await page.get_by_role("button", name="Cancel now").click()
    await expect(page.locator("[data-status]")).to_have_text("Canceled")
    await capture(page, screenshots, "canceled", prefix="portal")
    async with platform.sessionmaker() as db:
        ended = await db.get_one(Subscription, subscription_id)
        assert ended.status.value == "canceled"
        assert (await db.get_one(Subscription, others)).status.value == "active"

    # Then signing out ends the session, and the link no longer opens after 15 minutes
    await page.goto(f"{platform.api_url}/portal")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in with your wallet")).to_be_visible()
    platform.clock.advance(timedelta(minutes=16))
    expired = await page.goto(url)
    assert expired is not None
    assert expired.status == 404
    await expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()
    await capture(page, screenshots, "link-expired", prefix="portal")
    assert [e for e in errors if "40" not in e] == []
    await context.close()
