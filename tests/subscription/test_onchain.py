"""The lifecycle on real parts: the API under uvicorn, the real gRPC signer, anvil with the Delegation
Framework, and a procrastinate worker. Balances on the chain are the proof.

* cancel → the due renewal moves nothing, whether the scheduler runs after the cancel or had
  already queued the renewal's collection before it;
* a trial checkout charges nothing until the trial ends, then the first period exactly once;
* a resume after the paid period re-anchors the schedule, and the enforcer agrees: the new
  period's charge lands in a fresh on-chain window.

Fixtures: ``tests/fixtures/platform.py``.
"""

from __future__ import annotations

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from cyphera.kit.clock import from_unix, to_unix
from cyphera.models import Payment
from cyphera.subscription import billing
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_CENTS,
    PRICE_UNITS,
    USDC,
    Platform,
    customer_account,
    run_worker_once,
)


def move_to(platform: Platform, instant_unix: int) -> None:
    """Move our clock and the chain's to `instant_unix` (the chain's next block)."""
    platform.clock.set(from_unix(instant_unix))
    platform.chain.set_next_block_timestamp(instant_unix)


async def subscribe(
    api: httpx.AsyncClient,
    customer: LocalAccount,
    merchant_payout: str,
    *,
    trial_period_days: int | None = None,
) -> dict[str, object]:
    """Through the API: a monthly price, a checkout session the customer signs, completed."""
    assert (
        await api.post("/v1/payout_addresses/local", json={"address": merchant_payout})
    ).status_code == 200
    product = (await api.post("/v1/products", json={"name": "Pro plan"})).json()
    recurring: dict[str, object] = {"interval": "month"}
    if trial_period_days is not None:
        recurring["trial_period_days"] = trial_period_days
    price = (
        await api.post(
            "/v1/prices",
            json={
                "product": product["id"],
                "unit_amount": PRICE_CENTS,
                "currency": "usd",
                "recurring": recurring,
            },
        )
    ).json()
    created = await api.post(
        "/v1/checkout/sessions",
        json={
            "price": price["id"],
            "customer_address": customer.address,
            "network": "local",
            "token": "USDC",
        },
    )
    assert created.status_code == 200, created.text
    session = created.json()
    typed = session["permission_request"]["eip712"]
    signature = Account.sign_typed_data(customer.key, full_message=typed).signature
    completed = await api.post(
        f"/v1/checkout/sessions/{session['id']}/complete",
        json={"signature": "0x" + bytes(signature).hex()},
    )
    assert completed.status_code == 200, completed.text
    subscription = (await api.get(f"/v1/subscriptions/{completed.json()['subscription']}")).json()
    assert isinstance(subscription, dict)
    return subscription


async def test_after_cancel_the_due_renewal_moves_nothing_on_chain(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        # Given a subscription whose first period was charged on-chain
        subscription = await subscribe(api, customer, merchant)
        assert subscription["status"] == "active"
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS

        # When the merchant cancels it, and its renewal comes due and the worker runs
        canceled = await api.delete(f"/v1/subscriptions/{subscription['id']}")
        assert canceled.status_code == 200, canceled.text
        assert isinstance(subscription["current_period_end"], int)
        move_to(platform, subscription["current_period_end"] + 5)
        await run_worker_once(platform)

        # Then nothing moved and nothing was invoiced
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS
        assert chain.token_balance("USDC", customer.address) == 100 * USDC - PRICE_UNITS
        assert len((await api.get("/v1/invoices")).json()["data"]) == 1
        after = (await api.get(f"/v1/subscriptions/{subscription['id']}")).json()
        assert after["status"] == "canceled"


async def test_a_cancel_after_the_renewal_was_queued_moves_nothing_on_chain(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        subscription = await subscribe(api, customer, merchant)
        assert isinstance(subscription["current_period_end"], int)

        # Given the renewal opened and its collection job queued (the worker has not run it)
        move_to(platform, subscription["current_period_end"] + 5)
        [renewal_id] = await billing.renew_due(platform.sessionmaker, clock=platform.clock)

        # When the merchant cancels now, then the worker runs the queued job
        canceled = await api.delete(f"/v1/subscriptions/{subscription['id']}")
        assert canceled.status_code == 200, canceled.text
        await run_worker_once(platform)

        # Then the signer was never asked to move funds: balances are as after the first period
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS
        renewal = (await api.get(f"/v1/invoices/{renewal_id}")).json()
        assert renewal["status"] == "void"
        [payment] = (await api.get("/v1/payments", params={"invoice": renewal_id})).json()["data"]
        assert (payment["status"], payment["failure_code"], payment["tx_hash"]) == (
            "failed",
            "subscription_canceled",
            None,
        )
    async with platform.sessionmaker() as session:
        assert (await session.get_one(Payment, payment["id"])).tx_hash is None
    assert await platform.gateway.lookup(payment["id"]) is None


async def test_a_trial_charges_nothing_until_it_ends_then_the_first_period_once(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        # Given a checkout for a price with a 3-day trial
        subscription = await subscribe(api, customer, merchant, trial_period_days=3)

        # Then it is trialing and nothing moved
        assert subscription["status"] == "trialing"
        assert chain.token_balance("USDC", merchant) == 0
        assert (await api.get("/v1/invoices")).json()["data"] == []

        # When the trial ends and the worker runs (twice: the second run must do nothing)
        assert isinstance(subscription["trial_end"], int)
        move_to(platform, subscription["trial_end"] + 5)
        await run_worker_once(platform)
        await run_worker_once(platform)

        # Then the first period was charged on-chain, once, and it is active
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS
        active = (await api.get(f"/v1/subscriptions/{subscription['id']}")).json()
        assert active["status"] == "active"
        assert active["current_period_start"] == subscription["trial_end"]
        [invoice] = (await api.get("/v1/invoices")).json()["data"]
        assert (invoice["status"], invoice["period_start"]) == ("paid", subscription["trial_end"])


async def test_a_resume_after_the_period_is_charged_by_the_enforcer_in_a_fresh_window(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        # Given a subscription paused a week in, through its period's end
        subscription = await subscribe(api, customer, merchant)
        assert isinstance(subscription["current_period_end"], int)
        start = subscription["current_period_start"]
        assert isinstance(start, int)
        move_to(platform, start + 7 * 86_400)
        paused = await api.post(f"/v1/subscriptions/{subscription['id']}/pause", json={})
        assert paused.status_code == 200, paused.text
        move_to(platform, subscription["current_period_end"] + 3 * 86_400)
        await run_worker_once(platform)
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS

        # When it is resumed and the worker runs
        resume_at = to_unix(platform.clock.now())
        resumed = await api.post(f"/v1/subscriptions/{subscription['id']}/resume", json={})
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["billing_cycle_anchor"] == resume_at
        chain.set_next_block_timestamp(resume_at + 5)
        await run_worker_once(platform)

        # Then the re-anchored period was charged on-chain: the enforcer had room for it
        assert chain.token_balance("USDC", merchant) == 2 * PRICE_UNITS
        invoices = (await api.get("/v1/invoices")).json()["data"]
        assert [i["status"] for i in invoices] == ["paid", "paid"]
        assert invoices[0]["period_start"] == resume_at
        assert (await api.get(f"/v1/subscriptions/{subscription['id']}")).json()[
            "status"
        ] == "active"
