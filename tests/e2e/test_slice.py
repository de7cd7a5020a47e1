"""The whole platform, end to end, on real parts.

REST API under uvicorn → checkout typed data → a 7702-upgraded customer signs it → the first charge
lands through the real gRPC signer on anvil (balances prove it) → clock and chain advance one period
→ the procrastinate worker renews and charges → a further charge in the same period is refused by
the database (no second invoice) and, when forced, by the on-chain period enforcer.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cyphera.db.engine import transaction
from cyphera.invoice import service as invoices
from cyphera.kit.clock import from_unix, to_unix
from cyphera.models import Invoice, Payment, Permission, Subscription
from cyphera.signer.schemas import ChargeInput, ChargeStatus
from cyphera.subscription import billing
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_CENTS,
    PRICE_UNITS,
    USDC,
    Platform,
    customer_account,
    run_worker_once,
    subscribe,
)
from tests.signer.books import Books


async def test_subscribe_charge_renew_and_refuse_a_second_charge(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        # Given a product, a monthly price and a customer who signs the checkout's delegation
        session = await subscribe(api, customer, merchant)

        # Then the first period is charged on-chain, straight from the customer to the merchant
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS
        assert chain.token_balance("USDC", customer.address) == 100 * USDC - PRICE_UNITS
        subscription = (await api.get(f"/v1/subscriptions/{session['subscription']}")).json()
        assert subscription["status"] == "active"
        [first_invoice] = (await api.get("/v1/invoices")).json()["data"]
        assert first_invoice["status"] == "paid"
        assert first_invoice["amount_paid"] == PRICE_CENTS
        [first_payment] = (await api.get("/v1/payments")).json()["data"]
        assert first_payment["status"] == "succeeded"
        assert first_payment["amount_token"] == str(PRICE_UNITS)
        receipt = chain.w3.eth.get_transaction_receipt(first_payment["tx_hash"])
        assert receipt["status"] == 1

        # When clock and chain move to the end of the period and the worker runs
        period_end = from_unix(subscription["current_period_end"])
        platform.clock.set(period_end + timedelta(seconds=5))
        chain.set_next_block_timestamp(to_unix(period_end) + 5)
        await run_worker_once(platform)

        # Then the renewal is invoiced and charged, once
        assert chain.token_balance("USDC", merchant) == 2 * PRICE_UNITS
        invoices_now = (await api.get("/v1/invoices")).json()["data"]
        assert [i["status"] for i in invoices_now] == ["paid", "paid"]
        renewed = (await api.get(f"/v1/subscriptions/{session['subscription']}")).json()
        assert renewed["status"] == "active"
        assert renewed["current_period_start"] == subscription["current_period_end"]

    # And running the scheduler again in the same period opens nothing and charges nothing
    assert await billing.renew_due(platform.sessionmaker, clock=platform.clock) == []
    await run_worker_once(platform)
    assert chain.token_balance("USDC", merchant) == 2 * PRICE_UNITS

    # And the database refuses a second invoice for the period outright
    async with platform.sessionmaker() as db:
        sub = await db.get_one(Subscription, str(session["subscription"]))
        assert await db.scalar(select(func.count()).select_from(Invoice)) == 2
    with pytest.raises(IntegrityError):
        async with transaction(platform.sessionmaker) as db:
            await invoices.open_for_period(
                db,
                subscription=sub,
                period_index=sub.period_index,
                period_start=sub.current_period_start,
                period_end=sub.current_period_end,
                amount_due=PRICE_CENTS,
                currency="usd",
            )

    # And a charge forced past the database: the signer refuses what the books do not owe, and
    # one the books wrongly owe (a buggy scheduler) is refused on-chain by the period enforcer
    async with platform.sessionmaker() as db:
        payment = (await db.scalars(select(Payment).order_by(Payment.created_at))).first()
        assert payment is not None
        permission_context = (
            await db.get_one(
                Permission,
                payment.permission_id,
            )
        ).context

    def forced(key: str) -> ChargeInput:
        return ChargeInput(
            idempotency_key=key,
            chain_id=chain.deployment.chain_id,
            permission_context=permission_context,
            token=payment.token_address,
            payee=payment.payee,
            amount=PRICE_UNITS,
        )

    [unowed] = await platform.signer.redeem_charges([forced("forced-unowed")], wait_seconds=20)
    assert unowed.status is ChargeStatus.FAILED
    assert unowed.failure_code == "policy_violation"
    books = Books(platform.database_url)
    try:
        books.owe(forced("forced-second-charge"))
    finally:
        books.close()
    [second] = await platform.signer.redeem_charges(
        [forced("forced-second-charge")], wait_seconds=20
    )
    assert second.status is ChargeStatus.FAILED
    assert second.failure_code == "period_cap_reached"
    assert chain.token_balance("USDC", merchant) == 2 * PRICE_UNITS
