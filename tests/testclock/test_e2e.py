"""A test clock on the real platform: API under uvicorn, the real signer, anvil, a real worker
(which also runs the regular renewal tick).

A customer signs a checkout attached to a clock (a price with a 7-day trial); advancing the clock
past the trial's end and two more periods sends the trial notice, then renews and charges three
times in order, each in its own on-chain window, and moves the local chain's time with it.
Advancing again within the period charges nothing.
"""

from __future__ import annotations

import httpx
from eth_account import Account

from cyphera.kit.clock import to_unix
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_CENTS,
    PRICE_UNITS,
    USDC,
    Platform,
    customer_account,
    run_worker_once,
)


async def test_advancing_a_clock_renews_and_charges_on_chain_in_order(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    customer = customer_account(chain)
    merchant = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        # Given a monthly price with a 7-day trial and a test clock at the platform's now
        await api.post("/v1/payout_addresses/local", json={"address": merchant})
        product = (await api.post("/v1/products", json={"name": "Pro plan"})).json()
        price = (
            await api.post(
                "/v1/prices",
                json={
                    "product": product["id"],
                    "unit_amount": PRICE_CENTS,
                    "currency": "usd",
                    "recurring": {"interval": "month", "trial_period_days": 7},
                },
            )
        ).json()
        start = to_unix(platform.clock.now())
        clock = (await api.post("/v1/test_clocks", json={"frozen_time": start})).json()

        # And a customer who signs a checkout attached to it, on the local chain
        created = await api.post(
            "/v1/checkout/sessions",
            json={
                "price": price["id"],
                "customer_address": customer.address,
                "network": "local",
                "token": "USDC",
                "test_clock": clock["id"],
            },
        )
        assert created.status_code == 200, created.text
        session = created.json()
        assert session["test_clock"] == clock["id"]
        typed = session["permission_request"]["eip712"]
        signature = Account.sign_typed_data(customer.key, full_message=typed).signature
        completed = await api.post(
            f"/v1/checkout/sessions/{session['id']}/complete",
            json={"signature": "0x" + bytes(signature).hex()},
        )
        assert completed.status_code == 200, completed.text
        subscription_id = completed.json()["subscription"]
        subscription = (await api.get(f"/v1/subscriptions/{subscription_id}")).json()
        assert (subscription["status"], subscription["test_clock"]) == ("trialing", clock["id"])
        assert subscription["trial_end"] == start + 7 * 86_400
        assert chain.token_balance("USDC", merchant) == 0

        # When the clock is advanced past the trial's end and two more monthly periods
        # (two months are at most 62 days, three at least 89)
        target = subscription["trial_end"] + 65 * 86_400
        advancing = await api.post(
            f"/v1/test_clocks/{clock['id']}/advance", json={"frozen_time": target}
        )
        assert advancing.json()["status"] == "advancing"
        await run_worker_once(platform)

        # Then the clock is ready at the target, and the chain's time is there too
        moved = (await api.get(f"/v1/test_clocks/{clock['id']}")).json()
        assert (moved["status"], moved["frozen_time"]) == ("ready", target)
        assert chain.latest_timestamp() >= target

        # And three periods were invoiced and paid, one after the other
        invoices = (await api.get("/v1/invoices")).json()["data"][::-1]
        assert [(i["status"], i["amount_paid"]) for i in invoices] == [("paid", PRICE_CENTS)] * 3
        periods = [(i["period_start"], i["period_end"]) for i in invoices]
        assert periods[0][0] == subscription["trial_end"]
        assert [p[0] for p in periods[1:]] == [p[1] for p in periods[:-1]]
        assert periods[-1][0] <= target < periods[-1][1]

        # And exactly three charges moved on-chain, customer to merchant
        assert chain.token_balance("USDC", merchant) == 3 * PRICE_UNITS
        assert chain.token_balance("USDC", customer.address) == 100 * USDC - 3 * PRICE_UNITS
        payments = (await api.get("/v1/payments")).json()["data"]
        assert sorted(p["status"] for p in payments) == ["succeeded"] * 3
        blocks = sorted(
            chain.w3.eth.get_transaction_receipt(p["tx_hash"])["blockNumber"] for p in payments
        )
        stamps = [int(chain.w3.eth.get_block(b)["timestamp"]) for b in blocks]
        assert [s >= p[0] for s, p in zip(stamps, periods, strict=True)] == [True] * 3

        # And the events came in the clock's order
        events = (await api.get("/v1/events", params={"limit": 100})).json()["data"][::-1]
        types = [e["type"] for e in events]
        assert types.index("subscription.trial_will_end") < types.index("invoice.paid")
        assert types.count("invoice.paid") == 3
        assert types.count("payment.succeeded") == 3
        assert types[-1] == "test_clock.ready"
        assert types.index("test_clock.advancing") < types.index("subscription.trial_will_end")
        renewed = (await api.get(f"/v1/subscriptions/{subscription_id}")).json()
        assert renewed["status"] == "active"
        assert renewed["current_period_start"] == periods[-1][0]

        # When the clock is advanced again within the same period
        within = target + 86_400
        assert within < periods[-1][1]
        await api.post(f"/v1/test_clocks/{clock['id']}/advance", json={"frozen_time": within})
        await run_worker_once(platform)

        # Then nothing more is invoiced or charged
        assert (await api.get(f"/v1/test_clocks/{clock['id']}")).json()["status"] == "ready"
        assert len((await api.get("/v1/invoices")).json()["data"]) == 3
        assert chain.token_balance("USDC", merchant) == 3 * PRICE_UNITS
        assert chain.latest_timestamp() >= within
