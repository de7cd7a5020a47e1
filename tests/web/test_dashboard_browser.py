"""The merchant dashboard in a real browser, on the real platform (API, signer, anvil).

A merchant who owns a workspace signs in with their wallet (EIP-4361, the session in an HttpOnly
cookie), sees the figures of a subscription a customer paid on chain, lists it, and cancels it
after reading what cancelling now does; the figures move. A read-only member sees no action and
is refused if they post anyway; another workspace's objects are never shown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from eth_account.signers.local import LocalAccount
from playwright.async_api import Browser, BrowserContext, expect
from sqlalchemy import func, select

from cyphera.models import AuditEntry, Price, Subscription
from tests.auth.signin import SignedIn, join, owner_of_new_workspace
from tests.fixtures.platform import Platform, customer_account, run_worker_once, subscribe
from tests.web.checkout_flow import DESKTOP, capture, wallet_context
from tests.web.wallet import INIT_SCRIPT, FakeWallet


async def _browser_for(browser: Browser, wallet: LocalAccount) -> BrowserContext:
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    await context.expose_binding("__wallet", FakeWallet(wallet))
    await context.add_init_script(INIT_SCRIPT)
    return context


async def _secret_key(api: httpx.AsyncClient, owner: SignedIn, workspace_id: str) -> str:
    made = await api.post(
        "/v1/api_keys", json={"name": "shop", "mode": "test"}, headers=owner.headers(workspace_id)
    )
    assert made.status_code == 200, made.text
    return str(made.json()["secret"])


async def test_a_merchant_signs_in_reads_the_figures_and_cancels_with_a_preview(
    platform: Platform, browser: Browser, screenshots: Path
) -> None:
    async with httpx.AsyncClient(base_url=platform.api_url) as api:
        owner, workspace_id = await owner_of_new_workspace(api, "Acme")
        viewer, _ = await join(api, owner, workspace_id, "viewer")
        key = await _secret_key(api, owner, workspace_id)
        # Another merchant's workspace, with a subscription of its own
        other_owner, other_id = await owner_of_new_workspace(api, "Rival")
        other_key = await _secret_key(api, other_owner, other_id)
    chain = platform.chain
    async with httpx.AsyncClient(
        base_url=platform.api_url, headers={"Authorization": f"Bearer {key}"}
    ) as shop:
        completed = await subscribe(shop, customer_account(chain), chain.new_account(0).address)
    subscription_id = str(completed["subscription"])
    async with httpx.AsyncClient(
        base_url=platform.api_url, headers={"Authorization": f"Bearer {other_key}"}
    ) as rival:
        theirs = await subscribe(rival, customer_account(chain), chain.new_account(0).address)

    # Given the dashboard, signed out: the merchant signs in with their wallet
    context = await _browser_for(browser, owner.wallet)
    page = await context.new_page()
    await page.goto(f"{platform.api_url}/dashboard")
    await expect(page.get_by_role("heading", name="Sign in to your dashboard")).to_be_visible()
    await capture(page, screenshots, "sign-in", prefix="dashboard")
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await page.wait_for_url(f"**/dashboard/{workspace_id}/test")
    cookie = next(c for c in await context.cookies() if c["name"] == "cyphera_dashboard")
    assert cookie["httpOnly"] is True
    assert cookie["path"] == "/dashboard"

    # Then the home page shows the paid subscription's figures, test mode marked
    await expect(page.locator("[data-mode]")).to_have_text("Test mode")
    await expect(page.locator("[data-figure=mrr]")).to_have_text("$19.99")
    await expect(page.locator("[data-figure=active]")).to_have_text("1")
    await expect(page.locator("[data-figure=new-mrr]")).to_have_text("$19.99")
    await expect(page.locator("[data-figure=revenue]")).to_have_text("$19.99")
    await expect(page.locator("[data-revenue-by-token]")).to_contain_text("USDC")
    await capture(page, screenshots, "home", prefix="dashboard")

    # And the list shows it, and not the other workspace's
    await page.get_by_role("link", name="Subscriptions").click()
    rows = page.locator("[data-subscription]")
    await expect(rows).to_have_count(1)
    assert await rows.first.get_attribute("data-subscription") == subscription_id
    await capture(page, screenshots, "subscriptions", prefix="dashboard")
    # And customers, invoices and payments list this workspace's, and only those
    for section, expected in (
        ("Customers", "0x"),
        ("Invoices", "paid"),
        ("Payments", "succeeded"),
        ("Permissions", "active"),
        ("Checkouts", "complete"),
    ):
        await page.get_by_role("link", name=section).click()
        listed = page.locator("[data-row]")
        await expect(listed).to_have_count(1)
        await expect(listed).to_contain_text(expected)
        await capture(page, screenshots, section.lower(), prefix="dashboard")
    await page.get_by_role("link", name="Coupons").click()
    await expect(page.locator("[data-empty]")).to_contain_text("No coupons yet")
    await capture(page, screenshots, "coupons", prefix="dashboard")
    foreign = await page.goto(
        f"{platform.api_url}/dashboard/{workspace_id}/test/subscriptions/{theirs['subscription']}"
    )
    assert foreign is not None
    assert foreign.status == 404
    stranger = await page.goto(f"{platform.api_url}/dashboard/{other_id}/test")
    assert stranger is not None
    assert stranger.status == 404

    # When they cancel now: first what it will do, then the confirmation
    await page.goto(
        f"{platform.api_url}/dashboard/{workspace_id}/test/subscriptions/{subscription_id}"
    )
    await expect(page.locator("[data-timeline]")).to_contain_text("subscription.created")
    # And a change above the customer's permission: previewed, then left waiting for their grant
    await page.get_by_role("link", name="Change price or quantity…").click()
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_label("Proration").select_option("always_invoice")
    await page.get_by_role("button", name="Preview the change").click()
    preview = page.locator("[data-preview=change]")
    await expect(preview).to_contain_text("$39.98 per month")
    await expect(preview.locator("[data-needs-permission]")).to_contain_text("$39.98 per")
    await capture(page, screenshots, "change-preview", prefix="dashboard")
    await page.get_by_role("button", name="Confirm the change").click()
    await expect(page.locator("[data-notice]")).to_contain_text("waits for the customer")
    async with platform.sessionmaker() as db:
        waiting = await db.get_one(Subscription, subscription_id)
        assert (waiting.quantity, waiting.pending_quantity) == (1, 2)
    # Paused (what it does said first), then resumed inside the paid period: nothing charged now
    await page.get_by_role("link", name="Pause collection…").click()
    await expect(page.locator("[data-preview=pause]")).to_contain_text("nothing is renewed")
    await capture(page, screenshots, "pause-preview", prefix="dashboard")
    await page.get_by_role("button", name="Confirm: pause").click()
    await expect(page.locator("[data-status]")).to_have_text("paused")
    await expect(page.locator("[data-timeline]")).to_contain_text("subscription.paused")
    # Had the paid period ended while paused, resuming would charge now: the server's amount,
    # said first (the period's end moved into the past for a moment, then put back)
    async with platform.sessionmaker() as db, db.begin():
        paused = await db.get_one(Subscription, subscription_id)
        period_end, paused.current_period_end = (
            paused.current_period_end,
            platform.clock.now() - timedelta(hours=1),
        )
    await page.get_by_role("link", name="Resume…").click()
    await expect(page.locator("[data-charge-now]")).to_have_text("$19.99")
    await capture(page, screenshots, "resume-charges-preview", prefix="dashboard")
    await page.get_by_role("link", name="Keep it paused").click()
    async with platform.sessionmaker() as db, db.begin():
        (await db.get_one(Subscription, subscription_id)).current_period_end = period_end
    await page.get_by_role("link", name="Resume…").click()
    await expect(page.locator("[data-preview=resume]")).to_contain_text("nothing is charged now")
    await capture(page, screenshots, "resume-preview", prefix="dashboard")
    await page.get_by_role("button", name="Confirm: resume").click()
    await expect(page.locator("[data-status]")).to_have_text("active")
    await expect(page.locator("[data-timeline]")).to_contain_text("subscription.resumed")
    await page.get_by_role("link", name="Cancel now…").click()
    await expect(page.locator("[data-preview=now]")).to_contain_text("ends today")
    await capture(page, screenshots, "cancel-preview", prefix="dashboard")
    await page.get_by_role("button", name="Confirm: cancel now").click()
    await expect(page.locator("[data-status]")).to_have_text("canceled")
    await expect(page.locator("[data-notice]")).to_contain_text("Canceled now")
    await expect(page.locator("[data-timeline]")).to_contain_text("subscription.canceled")

    # Then the figures move, and the act is in the audit log as the owner's
    await page.get_by_role("link", name="Home").click()
    await expect(page.locator("[data-figure=mrr]")).to_have_text("$0.00")
    await expect(page.locator("[data-figure=churned-mrr]")).to_have_text("$19.99")
    async with platform.sessionmaker() as db:
        [audited] = (
            await db.scalars(
                select(AuditEntry).where(
                    AuditEntry.actor_id == owner.account_id, AuditEntry.action.contains("cancel")
                )
            )
        ).all()
        assert audited.workspace_id == workspace_id
        assert audited.actor_type.value == "account"
    await context.close()

    # A read-only member sees no action, and a post of theirs is refused and changes nothing
    async with httpx.AsyncClient(
        base_url=platform.api_url, headers={"Authorization": f"Bearer {other_key}"}
    ) as rival:
        still = await subscribe(rival, customer_account(chain), chain.new_account(0).address)
    del still
    context = await _browser_for(browser, viewer.wallet)
    page = await context.new_page()
    await page.goto(f"{platform.api_url}/dashboard")
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await page.wait_for_url(f"**/dashboard/{workspace_id}/test")
    async with httpx.AsyncClient(
        base_url=platform.api_url, headers={"Authorization": f"Bearer {key}"}
    ) as shop:
        fresh = await subscribe(shop, customer_account(chain), chain.new_account(0).address)
    fresh_id = str(fresh["subscription"])
    detail = f"{platform.api_url}/dashboard/{workspace_id}/test/subscriptions/{fresh_id}"
    await page.goto(detail + "?confirm=now")
    await expect(page.locator("[data-actions]")).to_have_count(0)
    await capture(page, screenshots, "subscription-viewer", prefix="dashboard")
    csrf = await page.locator("input[name=csrf_token]").first.input_value()
    refused = await page.request.post(f"{detail}/cancel", form={"csrf_token": csrf, "when": "now"})
    assert refused.status == 403
    assert "cannot change subscriptions" in await refused.text()
    for action in ("pause", "resume"):
        forged = await page.request.post(f"{detail}/{action}", form={"csrf_token": csrf})
        assert forged.status == 403, action
    async with platform.sessionmaker() as db:
        assert (await db.get_one(Subscription, fresh_id)).status.value == "active"
    await context.close()


async def test_a_merchant_makes_a_product_a_price_and_a_payment_link_a_customer_pays(
    platform: Platform, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url) as api:
        owner, workspace_id = await owner_of_new_workspace(api, "Acme")
        key = await _secret_key(api, owner, workspace_id)
        payout = await api.post(
            "/v1/payout_addresses/local",
            json={"address": merchant},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert payout.status_code == 200, payout.text
    context = await _browser_for(browser, owner.wallet)
    page = await context.new_page()
    await page.goto(f"{platform.api_url}/dashboard")
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await page.wait_for_url(f"**/dashboard/{workspace_id}/test")

    # Given no products: the empty state, then a product and two prices made from the page
    await page.get_by_role("link", name="Products").click()
    await expect(page.locator("[data-empty]")).to_contain_text("No products yet")
    await capture(page, screenshots, "products-empty", prefix="dashboard")
    await page.get_by_label("Name").fill("Team plan")
    await page.get_by_role("button", name="Create product").click()
    await expect(page.locator("[data-notice]")).to_have_text("Product created.")
    product = page.locator("[data-product]")
    await product.get_by_label("Amount (USD)").fill("29.99")
    await product.get_by_role("button", name="Add price").click()
    await product.get_by_label("Amount (USD)").fill("299")
    await product.get_by_label("Every").select_option("year")
    await product.get_by_label("Trial days").fill("14")
    await product.get_by_role("button", name="Add price").click()
    prices = page.locator("[data-price]")
    await expect(prices).to_have_count(2)
    await expect(prices.filter(has_text="$299.00 per year")).to_contain_text("14 days")
    await capture(page, screenshots, "products", prefix="dashboard")
    async with platform.sessionmaker() as db:
        made = (await db.scalars(select(Price).where(Price.workspace_id == workspace_id))).all()
        assert sorted((p.unit_amount, p.recurring_interval, p.trial_period_days) for p in made) == [
            (2999, "month", None),
            (29900, "year", 14),
        ]

    # And an amount that is not dollars and cents is refused, and nothing is made
    await product.get_by_label("Amount (USD)").fill("19.999")
    await product.get_by_role("button", name="Add price").click()
    await expect(page.locator("[data-error]")).to_contain_text("not an amount in dollars and cents")
    await capture(page, screenshots, "error", prefix="dashboard")
    async with platform.sessionmaker() as db:
        count = select(func.count()).select_from(Price).where(Price.workspace_id == workspace_id)
        assert await db.scalar(count) == 2

    # When they make a payment link for the monthly price, with its QR code
    await page.goto(f"{platform.api_url}/dashboard/{workspace_id}/test/payment_links")
    await expect(page.locator("[data-empty]")).to_contain_text("No payment links yet")
    await page.get_by_label("Price").select_option(label="Team plan · $29.99 per month")
    await page.get_by_role("button", name="Create payment link").click()
    link_row = page.locator("[data-link]")
    await expect(link_row).to_have_count(1)
    await link_row.get_by_text("QR code").click()
    qr = link_row.locator("[data-qr]")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
    await capture(page, screenshots, "payment-links", prefix="dashboard")
    link_url = await link_row.locator("[data-link-url]").get_attribute("href")
    assert link_url is not None

    # Then a customer pays through it, on chain
    customer = FakeWallet(customer_account(chain), rpc_url=chain.rpc_url)
    paying = await wallet_context(browser, customer, DESKTOP)
    checkout = await paying.new_page()
    await checkout.goto(f"{platform.api_url}{urlsplit(link_url).path}")
    await checkout.wait_for_url("**/pay/cs_*")
    await checkout.get_by_role("button", name="Connect Test Wallet").click()
    await checkout.get_by_role("button", name="Approve in wallet").click()
    done = checkout.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_have_text("You are subscribed")
    assert chain.token_balance("USDC", merchant) == 2999 * 10**4
    await paying.close()

    # And the figures show it; archiving the price says so
    await page.get_by_role("link", name="Home").click()
    await expect(page.locator("[data-figure=mrr]")).to_have_text("$29.99")
    await page.get_by_role("link", name="Products").click()
    await prices.filter(has_text="$29.99 per month").get_by_role("button", name="Archive").click()
    await expect(prices.filter(has_text="$29.99 per month")).to_contain_text("archived")

    # And a test clock made and advanced from the page moves once the worker has run
    await page.get_by_role("link", name="Test clocks").click()
    await page.get_by_label("Name").fill("Rehearsal")
    await page.get_by_role("button", name="Create at the current time").click()
    clock_row = page.locator("[data-clock]")
    await expect(clock_row.locator("[data-clock-status]")).to_have_text("ready")
    before = await clock_row.locator("[data-clock-time]").text_content()
    await clock_row.get_by_label("Advance by").select_option("30")
    await clock_row.get_by_role("button", name="Advance").click()
    await expect(clock_row.locator("[data-clock-status]")).to_have_text("advancing")
    await capture(page, screenshots, "test-clocks", prefix="dashboard")
    await run_worker_once(platform)
    await page.reload()
    await expect(clock_row.locator("[data-clock-status]")).to_have_text("ready")
    after = await clock_row.locator("[data-clock-time]").text_content()
    assert before is not None
    assert after is not None

    def shown(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)

    assert shown(after) - shown(before) == timedelta(days=30)
    await context.close()
