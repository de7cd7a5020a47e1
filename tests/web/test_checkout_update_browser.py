"""A price change that needs a larger permission, approved by the customer on the hosted page.

The merchant moves an active subscription to a dearer price (``always_invoice``); the change
waits for a new permission and the customer is sent the session's link. The page says it is a
change, not a new subscription, shows the new permission's terms and what approving charges now
(the net proration, by the same planner as the API's preview), and after approval the change is
applied and its charge confirmed on chain under the new permission — never the old first
period's payment shown as if it were the change's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
from eth_account.signers.local import LocalAccount
from playwright.async_api import Browser, expect

from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, Platform, customer_account, monthly_price
from tests.subscription.test_onchain import move_to, subscribe
from tests.web.checkout_flow import DESKTOP, capture, wallet_context
from tests.web.wallet import FakeWallet

DEARER_CENTS = 2999
UNITS_PER_CENT = 10**4


async def _pending_change(
    platform: Platform, workspace: WorkspaceKeys, behavior: str
) -> tuple[LocalAccount, str, dict[str, Any], str, int, SplitResult]:
    """An active subscription moved to a dearer price with `behavior`, waiting for the grant."""
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        subscription = await subscribe(api, customer, merchant)
        sub_path = f"/v1/subscriptions/{subscription['id']}"
        dearer = await monthly_price(api, unit_amount=DEARER_CENTS, name="Team plan")
        move_to(platform, int(str(subscription["current_period_start"])) + 10 * 86_400)
        preview = (
            await api.get(
                f"{sub_path}/preview_change",
                params={"price": dearer, "proration_behavior": behavior},
            )
        ).json()
        updated = await api.post(sub_path, json={"price": dearer, "proration_behavior": behavior})
        assert updated.status_code == 200, updated.text
        link = urlsplit(updated.json()["pending_update"]["checkout_session"]["url"])
    return customer, merchant, subscription, dearer, int(preview["amount_due_now"]), link


async def test_a_customer_approves_a_price_change_on_the_hosted_page(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    customer, merchant, subscription, dearer, due_now, link = await _pending_change(
        platform, workspace, "always_invoice"
    )
    sub_path = f"/v1/subscriptions/{subscription['id']}"
    assert due_now > 0
    due_text = f"{due_now * UNITS_PER_CENT / 10**6:.2f} USDC"

    wallet = FakeWallet(customer)
    context = await wallet_context(browser, wallet, DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Given the link the customer was sent: a change, not a new subscription
    await page.goto(f"{platform.api_url}{link.path}?{link.query}")
    await expect(page.get_by_role("heading", name="Approve your new plan")).to_be_visible()
    notice = page.locator("[data-notice=update]")
    await expect(notice).to_contain_text("Team plan at $29.99 per month")
    await expect(notice).to_contain_text("replaces the one you granted before")
    await capture(page, screenshots, "update-open")

    # When they connect: the new permission's terms, and what approving charges now
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.get_by_role("heading", name="Review the new permission")).to_be_visible()
    await expect(page.locator("[data-term=sentence]")).to_contain_text(
        f"up to 29.99 USDC every 28 days, only to {merchant}"
    )
    await expect(page.locator("[data-term=first_charge]")).to_have_text(
        f"{due_text} is charged now for the change"
    )
    await capture(page, screenshots, "update-review")

    # And approve: the change is applied and its charge confirmed under the new permission
    await page.get_by_role("button", name="Approve in wallet").click()
    done = page.locator("[data-step=done] h1")
    await expect(done).to_have_text("Your plan is changed", timeout=30_000)
    tx_hash = await page.locator("[data-progress=tx-done]").text_content()
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        changed = (await api.get(sub_path)).json()
        payments = (await api.get("/v1/payments")).json()["data"]
    assert changed["price"] == dearer
    assert changed["permission"] != subscription["permission"]
    change_payment, first_payment = payments  # newest first
    assert change_payment["status"] == "succeeded"
    assert change_payment["amount"] == due_now
    assert tx_hash == change_payment["tx_hash"]
    assert tx_hash != first_payment["tx_hash"]
    assert (
        chain.token_balance("USDC", merchant)
        == PRICE_UNITS + change_payment["amount"] * UNITS_PER_CENT
    )
    await capture(page, screenshots, "update-done")
    assert errors == []
    await context.close()


async def test_a_change_from_the_next_period_charges_nothing_when_approved(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    customer, merchant, subscription, dearer, due_now, link = await _pending_change(
        platform, workspace, "none"
    )
    assert due_now == 0
    context = await wallet_context(browser, FakeWallet(customer), DESKTOP)
    page = await context.new_page()
    await page.goto(f"{platform.api_url}{link.path}?{link.query}")
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.locator("[data-term=first_charge]")).to_have_text(
        "Nothing is charged now; the change shows on your next invoice"
    )
    await page.get_by_role("button", name="Approve in wallet").click()
    await expect(page.locator("[data-step=done] h1")).to_have_text(
        "Your plan is changed", timeout=30_000
    )
    await expect(page.locator("[data-done=detail]")).to_have_text(
        "Nothing was charged now; the change shows on your next invoice."
    )
    # The first period's transaction is not passed off as the change's
    await expect(page.locator("[data-progress=tx-line]")).to_be_hidden()
    await capture(page, screenshots, "update-done-nothing-now")
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        changed = (await api.get(f"/v1/subscriptions/{subscription['id']}")).json()
        assert changed["price"] == dearer
        assert len((await api.get("/v1/payments")).json()["data"]) == 1
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    await context.close()
