"""A price change that needs a larger cap, end to end on real parts (API, gRPC signer, anvil,
worker): the change waits for the customer's new grant, then the proration is charged under the
NEW permission and the next renewal charges the new price. Balances on the chain are the proof.

Fixtures: ``tests/fixtures/platform.py``.
"""

from __future__ import annotations

import httpx
from eth_account import Account

from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_CENTS,
    PRICE_UNITS,
    USDC,
    Platform,
    customer_account,
    monthly_price,
    run_worker_once,
)
from tests.subscription.test_onchain import move_to, subscribe

DEARER_CENTS = 2999  # above the 19.99 per period the customer first granted
UNITS_PER_CENT = 10**4


async def test_a_dearer_price_waits_for_the_new_grant_then_charges_under_it(
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
        dearer = await monthly_price(api, unit_amount=DEARER_CENTS, name="Team plan")
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS
        change_at = int(str(subscription["current_period_start"])) + 10 * 86_400
        move_to(platform, change_at)

        # When the merchant changes to a price above the customer's cap, invoicing at once
        preview = await api.get(
            f"{sub_path}/preview_change",
            params={"price": dearer, "proration_behavior": "always_invoice"},
        )
        updated = await api.post(
            sub_path, json={"price": dearer, "proration_behavior": "always_invoice"}
        )

        # Then nothing changes yet: the subscription waits for the customer's new grant
        assert preview.status_code == 200, preview.text
        assert preview.json()["requires_new_permission"] is True
        assert preview.json()["new_permission_cap"] == DEARER_CENTS
        assert updated.status_code == 200, updated.text
        body = updated.json()
        assert (body["price"], body["permission"]) == (subscription["price"], old_permission)
        pending = body["pending_update"]
        checkout_id = pending["checkout_session"]["id"]
        assert pending["price"] == dearer
        assert pending["proration_behavior"] == "always_invoice"
        assert f"/pay/{checkout_id}?key=" in pending["checkout_session"]["url"]
        # The link the customer is sent opens the hosted page, without a key of the merchant's
        link = httpx.URL(pending["checkout_session"]["url"])
        async with httpx.AsyncClient(base_url=platform.api_url) as browser:
            page = await browser.get(link.raw_path.decode())
        assert page.status_code == 200, page.text
        assert pending["expires_at"] == change_at + 86_400
        assert chain.token_balance("USDC", merchant) == PRICE_UNITS
        checkout = (await api.get(f"/v1/checkout/sessions/{checkout_id}")).json()
        assert checkout["purpose"] == "subscription_update"
        assert checkout["subscription"] == subscription["id"]
        assert checkout["customer_address"] == customer.address
        assert checkout["permission_request"]["terms"]["amount_per_period"] == str(
            DEARER_CENTS * UNITS_PER_CENT
        )

        # When the customer signs the new permission and it is completed
        typed = checkout["permission_request"]["eip712"]
        signature = Account.sign_typed_data(customer.key, full_message=typed).signature
        completed = await api.post(
            f"/v1/checkout/sessions/{checkout_id}/complete",
            json={"signature": "0x" + bytes(signature).hex()},
        )

        # Then the subscription is on the dearer price under the new permission, and the
        # proration was charged on-chain at once, under the new permission
        assert completed.status_code == 200, completed.text
        assert completed.json()["status"] == "complete"
        changed = (await api.get(sub_path)).json()
        assert changed["price"] == dearer
        assert changed["permission"] != old_permission
        assert changed["pending_update"] is None
        left = int(str(subscription["current_period_end"])) - change_at
        period = int(str(subscription["current_period_end"])) - int(
            str(subscription["current_period_start"])
        )
        proration = (DEARER_CENTS * left) // period + (-PRICE_CENTS * left) // period
        assert proration == preview.json()["amount_due_now"]
        paid = PRICE_UNITS + proration * UNITS_PER_CENT
        assert chain.token_balance("USDC", merchant) == paid
        assert chain.token_balance("USDC", customer.address) == 100 * USDC - paid
        payments = (await api.get("/v1/payments")).json()["data"]
        assert [p["status"] for p in payments] == ["succeeded", "succeeded"]
        assert payments[0]["amount"] == proration
        old = (await api.get(f"/v1/permissions/{old_permission}")).json()
        assert old["replaced_by"] == changed["permission"]

        # When clock and chain reach the end of the period and the worker runs
        move_to(platform, int(str(subscription["current_period_end"])) + 5)
        await run_worker_once(platform)

        # Then the renewal charges the dearer price, under the new permission
        renewed = (await api.get(sub_path)).json()
        assert renewed["status"] == "active"
        assert renewed["current_period_start"] == subscription["current_period_end"]
        paid += DEARER_CENTS * UNITS_PER_CENT
        assert chain.token_balance("USDC", merchant) == paid
        assert chain.token_balance("USDC", customer.address) == 100 * USDC - paid
        invoices = (await api.get("/v1/invoices")).json()["data"]
        assert [(i["status"], i["amount_paid"]) for i in invoices] == [
            ("paid", DEARER_CENTS),
            ("paid", proration),
            ("paid", PRICE_CENTS),
        ]
