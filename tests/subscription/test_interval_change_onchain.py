"""A change from a monthly to a weekly price, end to end on real parts (API, gRPC signer, anvil,
worker): the change waits for the customer's NEW permission (weekly windows starting afresh),
then the schedule restarts at the completion — the new first week charged at once, less the
credit for the unused month — and the next week's renewal lands in the next on-chain window.
Balances on the chain are the proof.

Fixtures: ``tests/fixtures/platform.py``.
"""

from __future__ import annotations

import httpx
from eth_account import Account
from sqlalchemy import select

from cyphera.models import Payment
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_CENTS,
    PRICE_UNITS,
    USDC,
    Platform,
    customer_account,
    run_worker_once,
)
from tests.subscription.test_onchain import move_to, subscribe

WEEKLY_CENTS = 2500
UNITS_PER_CENT = 10**4
WEEK = 7 * 86_400


async def test_a_weekly_price_restarts_the_schedule_under_a_new_permission(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        # Given an active subscription at 19.99 a month, its first period paid on-chain
        subscription = await subscribe(api, customer, merchant)
        sub_path = f"/v1/subscriptions/{subscription['id']}"
        old_permission = subscription["permission"]
        period_start = int(str(subscription["current_period_start"]))
        period_end = int(str(subscription["current_period_end"]))
        product = (await api.post("/v1/products", json={"name": "Weekly plan"})).json()
        weekly = (
            await api.post(
                "/v1/prices",
                json={
                    "product": product["id"],
                    "unit_amount": WEEKLY_CENTS,
                    "currency": "usd",
                    "recurring": {"interval": "week"},
                },
            )
        ).json()["id"]
        change_at = period_start + 10 * 86_400
        move_to(platform, change_at)

        # When the merchant changes it to the weekly price
        preview = await api.get(
            f"{sub_path}/preview_change",
            params={"price": weekly, "proration_behavior": "create_prorations"},
        )
        updated = await api.post(sub_path, json={"price": weekly})

        # Then nothing changes yet: the customer is asked for a weekly permission from now on
        assert preview.status_code == 200, preview.text
        credit = (-PRICE_CENTS * (period_end - change_at)) // (period_end - period_start)
        due_now = WEEKLY_CENTS + credit
        assert preview.json()["requires_new_permission"] is True
        assert preview.json()["new_permission_cap"] == WEEKLY_CENTS
        assert [line["amount"] for line in preview.json()["lines"]] == [credit]
        assert preview.json()["amount_due_now"] == due_now
        assert preview.json()["next_invoice"] == {
            "period_start": change_at + WEEK,
            "period_end": change_at + 2 * WEEK,
            "amount_due": WEEKLY_CENTS,
        }
        assert updated.status_code == 200, updated.text
        body = updated.json()
        assert (body["price"], body["permission"]) == (subscription["price"], old_permission)
        checkout_id = body["pending_update"]["checkout_session"]["id"]
        checkout = (await api.get(f"/v1/checkout/sessions/{checkout_id}")).json()
        assert checkout["purpose"] == "subscription_update"
        terms = checkout["permission_request"]["terms"]
        assert terms["amount_per_period"] == str(WEEKLY_CENTS * UNITS_PER_CENT)
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS

        # When the customer signs the new permission and it is completed
        typed = checkout["permission_request"]["eip712"]
        signature = Account.sign_typed_data(customer.key, full_message=typed).signature
        completed = await api.post(
            f"/v1/checkout/sessions/{checkout_id}/complete",
            json={"signature": "0x" + bytes(signature).hex()},
        )

        # Then the schedule restarts now on the weekly price, and its first week is charged
        # on-chain at once, less the credit for the unused month
        assert completed.status_code == 200, completed.text
        changed = (await api.get(sub_path)).json()
        new_permission = changed["permission"]
        assert (changed["status"], changed["price"]) == ("active", weekly)
        assert new_permission != old_permission
        assert (changed["billing_cycle_anchor"], changed["current_period_start"]) == (
            change_at,
            change_at,
        )
        assert changed["current_period_end"] == change_at + WEEK
        assert changed["proration_balance"] == 0
        paid = PRICE_UNITS + due_now * UNITS_PER_CENT
        assert chain.token_balance("USDC", merchant) == paid
        assert chain.token_balance("USDC", customer.address) == 100 * USDC - paid
        old = (await api.get(f"/v1/permissions/{old_permission}")).json()
        assert old["replaced_by"] == new_permission

        # When clock and chain reach the end of the new week and the worker runs
        move_to(platform, change_at + WEEK + 5)
        await run_worker_once(platform)

        # Then the renewal charges the weekly price in the next weekly window, under the new
        # permission; the old one was never charged again
        renewed = (await api.get(sub_path)).json()
        assert renewed["status"] == "active"
        assert renewed["current_period_start"] == change_at + WEEK
        paid += WEEKLY_CENTS * UNITS_PER_CENT
        assert chain.token_balance("USDC", merchant) == paid
        assert chain.token_balance("USDC", customer.address) == 100 * USDC - paid
        invoices = (await api.get("/v1/invoices")).json()["data"]
        assert [(i["status"], i["amount_paid"]) for i in invoices] == [
            ("paid", WEEKLY_CENTS),
            ("paid", due_now),
            ("paid", PRICE_CENTS),
        ]
        async with platform.sessionmaker() as session:
            charged = (
                await session.execute(
                    select(Payment.permission_id, Payment.status).order_by(Payment.created_at)
                )
            ).all()
        assert [(permission, status.value) for permission, status in charged] == [
            (old_permission, "succeeded"),
            (new_permission, "succeeded"),
            (new_permission, "succeeded"),
        ]
