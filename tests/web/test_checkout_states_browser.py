"""The hosted checkout's states before and around the signature, in a real browser on anvil.

Before asking the wallet for anything, the page reads what it needs through the wallet: the
chain it is on (a refused switch says which network to use), the customer's token balance (too
little for a charge due now stops there) and the account's code (a standard account that cannot
grant ERC-7715 is told how to get a smart account). A wallet with ERC-7715 grants the server's
`erc20-token-periodic` request instead of signing; a trial charges nothing now and says when.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from eth_abi.abi import encode
from playwright.async_api import Browser, expect
from sqlalchemy import select

from cyphera.models import Permission, Subscription
from cyphera.models.permission import PermissionSource
from cyphera.models.subscription import SubscriptionStatus
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, USDC, Platform, customer_account
from tests.web.checkout_flow import (
    PHONE,
    capture,
    checkout_session,
    nothing_created,
    wallet_context,
)
from tests.web.wallet import FakeWallet

ASKED = {"wallet_requestExecutionPermissions", "eth_signTypedData_v4"}


async def test_a_wallet_too_poor_for_the_first_charge_is_told_so_and_nothing_is_asked(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = chain.new_account()
    chain.upgrade_to_7702(customer, sponsor=customer)
    chain.fund_token("USDC", customer.address, 3 * USDC)
    session = await checkout_session(platform, workspace, merchant)
    wallet = FakeWallet(customer, rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet)
    page = await context.new_page()
    await page.goto(session["page"])

    await page.get_by_role("button", name="Connect Test Wallet").click()

    heading = page.locator("[data-step=insufficient] h1")
    await expect(heading).to_be_visible()
    await expect(heading).to_be_focused()
    await expect(page.locator("[data-message=funds]")).to_have_text(
        "This wallet holds 3.00 USDC; the first charge is 19.99 USDC. "
        "Add funds or connect another wallet."
    )
    await expect(page.get_by_role("button", name="Approve in wallet")).to_be_hidden()
    await capture(page, screenshots, "insufficient")
    assert not ASKED & set(wallet.calls)
    await nothing_created(platform)
    assert chain.token_balance("USDC", merchant) == 0
    await context.close()


async def test_a_standard_account_without_erc7715_is_told_what_to_do_and_signs_nothing(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = chain.new_account()  # a plain EOA: no code, not upgraded
    chain.fund_token("USDC", customer.address, 100 * USDC)
    session = await checkout_session(platform, workspace, merchant)
    wallet = FakeWallet(customer, rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet, PHONE)
    page = await context.new_page()
    await page.goto(session["page"])
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.locator("[data-term=first_charge]")).to_have_text("19.99 USDC is charged now")

    await page.get_by_role("button", name="Approve in wallet").click()

    heading = page.locator("[data-step=standard-account] h1")
    await expect(heading).to_be_visible()
    await expect(page.locator("[data-step=standard-account]")).to_contain_text(
        "Your account is a standard account. In MetaMask, switch it to a smart account"
    )
    await expect(page.locator("[data-step=standard-account]")).to_contain_text(
        "or use a wallet that supports ERC-7715 permissions"
    )
    await capture(page, screenshots, "standard-account")
    # The wallet was asked for ERC-7715 (it has none), never for a signature
    assert "wallet_requestExecutionPermissions" in wallet.calls
    assert "eth_signTypedData_v4" not in wallet.calls
    await nothing_created(platform)
    await context.close()


async def test_a_refused_network_switch_says_which_network_and_retrying_goes_on(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    local = platform.registry.get("local")
    merchant = chain.new_account(ether=0).address
    session = await checkout_session(platform, workspace, merchant)
    wallet = FakeWallet(
        customer_account(chain), reject={"wallet_switchEthereumChain"}, rpc_url=chain.rpc_url
    )
    context = await wallet_context(browser, wallet)
    page = await context.new_page()
    await page.goto(session["page"])

    # The customer declines the switch (4001)
    await page.get_by_role("button", name="Connect Test Wallet").click()
    heading = page.locator("[data-step=wrong-network] h1")
    await expect(heading).to_be_visible()
    message = page.locator("[data-message=network]")
    await expect(message).to_contain_text(
        f"Switch your wallet to {local.name} (chain id {local.chain_id})"
    )
    await capture(page, screenshots, "wrong-network")
    assert wallet.chain_id != local.chain_id

    # The wallet does not know the chain (4902): the same state, after a retry
    wallet.reject = set()
    wallet.errors = {"wallet_switchEthereumChain": 4902}
    await page.get_by_role("button", name="Try again").click()
    await expect(heading).to_be_visible()
    await expect(message).to_contain_text(f"(chain id {local.chain_id})")
    assert wallet.calls.count("wallet_switchEthereumChain") == 2

    # Once the wallet switches, retrying goes on to the terms; nothing was prepared before
    await nothing_created(platform)
    wallet.errors = {}
    await page.get_by_role("button", name="Try again").click()
    await expect(page.locator("[data-term=sentence]")).to_contain_text("up to 19.99 USDC")
    assert wallet.chain_id == local.chain_id
    assert not ASKED & set(wallet.calls)
    await context.close()


async def test_a_standard_account_subscribes_through_an_erc7715_grant(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = chain.new_account()  # plain: the wallet upgrades it as it grants, as MetaMask does
    chain.fund_token("USDC", customer.address, 100 * USDC)
    session = await checkout_session(platform, workspace, merchant, success_url=None)
    wallet = FakeWallet(customer, rpc_url=chain.rpc_url, erc7715=True, devnet=chain)
    context = await wallet_context(browser, wallet)
    page = await context.new_page()
    await page.goto(session["page"])
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.locator("[data-term=sentence]")).to_contain_text("up to 19.99 USDC")

    await page.get_by_role("button", name="Approve in wallet").click()

    done = page.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_have_text("You are subscribed")
    assert "eth_signTypedData_v4" not in wallet.calls
    [grant] = wallet.granted
    assert grant["permission"]["type"] == "erc20-token-periodic"
    await capture(page, screenshots, "erc7715-done")
    assert chain.token_balance("USDC", merchant) == PRICE_UNITS
    async with platform.sessionmaker() as db:
        permission = (await db.scalars(select(Permission))).one()
        subscription = (await db.scalars(select(Subscription))).one()
    assert permission.source is PermissionSource.ERC7715
    assert subscription.status is SubscriptionStatus.ACTIVE
    await context.close()


async def test_a_trial_charges_nothing_now_and_says_when_the_first_charge_is(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = chain.new_account()
    chain.upgrade_to_7702(customer, sponsor=customer)
    chain.fund_token("USDC", customer.address, 3 * USDC)  # enough for nothing now: only a warning
    session = await checkout_session(platform, workspace, merchant, trial_days=14, success_url=None)
    first_charge_on = (platform.clock.now() + timedelta(days=14)).strftime("%Y-%m-%d")
    wallet = FakeWallet(customer, rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet)
    page = await context.new_page()
    await page.goto(session["page"])
    await expect(page.locator(".trial")).to_have_text(
        f"Free for 14 days, then $19.99 on {first_charge_on}."
    )
    await capture(page, screenshots, "trial-open")

    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.locator("[data-term=first_charge]")).to_have_text(
        f"Free for 14 days, then 19.99 USDC on {first_charge_on}"
    )
    notice = page.locator("[data-notice=funds]")
    await expect(notice).to_have_text(
        f"This wallet holds 3.00 USDC; the first charge, 19.99 USDC on {first_charge_on}, needs "
        "more. Add funds before then."
    )
    await capture(page, screenshots, "trial-review")
    await page.get_by_role("button", name="Approve in wallet").click()

    done = page.locator("[data-step=done] h1")
    await expect(done).to_be_visible(timeout=30_000)
    await expect(done).to_have_text("Your trial has started")
    await expect(page.locator("[data-done=detail]")).to_have_text(
        "Nothing was charged now; the first charge is at the end of the trial."
    )
    await capture(page, screenshots, "trial-done")
    assert chain.token_balance("USDC", merchant) == 0
    async with platform.sessionmaker() as db:
        subscription = (await db.scalars(select(Subscription))).one()
    assert subscription.status is SubscriptionStatus.TRIALING
    assert subscription.trial_end is not None
    assert subscription.trial_end.strftime("%Y-%m-%d") == first_charge_on
    await context.close()


async def test_a_first_charge_that_fails_on_chain_says_so_and_charges_nothing(
    platform: Platform, workspace: WorkspaceKeys, browser: Browser, screenshots: Path
) -> None:
    chain = platform.chain
    merchant = chain.new_account(ether=0).address
    customer = customer_account(chain)
    session = await checkout_session(platform, workspace, merchant)
    wallet = FakeWallet(customer, rpc_url=chain.rpc_url)
    context = await wallet_context(browser, wallet)
    page = await context.new_page()
    await page.goto(session["page"])
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.get_by_role("button", name="Approve in wallet")).to_be_visible()

    # When the funds leave the wallet between the review and the approval (another app, another
    # tab), the charge the signer sends is refused on chain
    usdc = platform.registry.get("local").tokens["USDC"].address
    balance = chain.token_balance("USDC", customer.address)
    elsewhere = chain.new_account(ether=0).address
    drain = "0xa9059cbb" + encode(["address", "uint256"], [elsewhere, balance]).hex()
    wallet._send({"from": customer.address, "to": usdc, "data": drain})
    assert chain.token_balance("USDC", customer.address) == 0
    await page.get_by_role("button", name="Approve in wallet").click()

    # Then the page says the first charge failed and that nothing else was charged
    error = page.locator("[data-step=error]")
    await expect(error).to_be_visible(timeout=30_000)
    await expect(error.locator("[data-error=message]")).to_contain_text("The first charge failed")
    await expect(error.locator("[data-error=message]")).to_contain_text("Nothing else was charged")
    await capture(page, screenshots, "charge-failed")
    assert chain.token_balance("USDC", merchant) == 0
    async with platform.sessionmaker() as db:
        [subscription] = (await db.scalars(select(Subscription))).all()
        assert subscription.status is SubscriptionStatus.INCOMPLETE
    await context.close()
