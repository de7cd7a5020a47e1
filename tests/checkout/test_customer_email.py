"""A checkout session made with the customer's email gives it to the customer when it completes,
on the real platform (API, signer, anvil), and never replaces an email the customer already has."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from cyphera.models import CheckoutSession, Customer
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import Platform, customer_account, subscribe


async def _email_of(platform: Platform, address: str) -> str | None:
    async with platform.sessionmaker() as db:
        customer = await db.scalar(select(Customer).where(Customer.address == address))
        assert customer is not None
        return customer.email


async def test_the_email_given_at_checkout_reaches_a_customer_without_one(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    chain = platform.chain
    newcomer, known = customer_account(chain), customer_account(chain)
    payout = chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        made = await api.post(
            "/v1/customers", json={"address": known.address, "email": "own@shop.example"}
        )
        assert made.status_code == 200, made.text

        first = await subscribe(api, newcomer, payout, customer_email="jo@shop.example")
        await subscribe(api, known, payout, customer_email="other@shop.example")
        session = await api.get(f"/v1/checkout/sessions/{first['id']}")

    assert session.json()["customer_email"] == "jo@shop.example"
    assert await _email_of(platform, newcomer.address) == "jo@shop.example"
    assert await _email_of(platform, known.address) == "own@shop.example"


async def test_a_malformed_email_is_refused_and_makes_no_session(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        refused = await api.post(
            "/v1/checkout/sessions", json={"price": "price_x", "customer_email": "not-an-email"}
        )

    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "customer_email"
    async with platform.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(CheckoutSession)) == 0
