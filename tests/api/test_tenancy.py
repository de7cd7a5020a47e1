"""Every endpoint, called with a key of another tenant, finds nothing of the owner's and changes nothing.

The endpoint list comes from the OpenAPI document, so an endpoint added later without an entry in
`CALLS` fails `test_every_endpoint_is_covered` until its tenancy is tested here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera import models
from cyphera.db.engine import transaction
from cyphera.kit.ids import new_id
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus
from cyphera.models.permission import PermissionSource, PermissionStatus
from cyphera.models.subscription import SubscriptionStatus
from tests.fixtures.api import MakeApiKey, MakeWorkspace, WorkspaceKeys

OWNER_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
INTRUDER_ADDRESS = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
NETWORK = "base"

Owned = dict[str, str]


@dataclass(frozen=True)
class Call:
    """How an intruder calls one endpoint, and what it must get."""

    expect: int  # 404 for the owner's objects; 200 where the call acts on the caller's own data
    path_params: Callable[[Owned], dict[str, str]] = lambda owned: {}
    body: Callable[[Owned], dict[str, Any]] | None = None
    is_list: bool = False


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/v1/products"): Call(expect=200, is_list=True),
    ("POST", "/v1/products"): Call(expect=200, body=lambda owned: {"name": "Mine"}),
    ("GET", "/v1/products/{product_id}"): Call(
        expect=404, path_params=lambda owned: {"product_id": owned["product"]}
    ),
    ("POST", "/v1/products/{product_id}"): Call(
        expect=404,
        path_params=lambda owned: {"product_id": owned["product"]},
        body=lambda owned: {"name": "Hijacked", "active": False},
    ),
    ("GET", "/v1/prices"): Call(expect=200, is_list=True),
    ("POST", "/v1/prices"): Call(
        expect=404,
        body=lambda owned: {
            "product": owned["product"],
            "unit_amount": 1,
            "currency": "usd",
            "recurring": {"interval": "day"},
        },
    ),
    ("GET", "/v1/prices/{price_id}"): Call(
        expect=404, path_params=lambda owned: {"price_id": owned["price"]}
    ),
    ("POST", "/v1/prices/{price_id}"): Call(
        expect=404,
        path_params=lambda owned: {"price_id": owned["price"]},
        body=lambda owned: {"active": False, "metadata": {"hijacked": "yes"}},
    ),
    ("GET", "/v1/payout_addresses"): Call(expect=200, is_list=True),
    ("GET", "/v1/payout_addresses/{network}"): Call(
        expect=404, path_params=lambda owned: {"network": NETWORK}
    ),
    # Sets the caller's own address for the network; the owner's must stay as it was.
    ("POST", "/v1/payout_addresses/{network}"): Call(
        expect=200,
        path_params=lambda owned: {"network": NETWORK},
        body=lambda owned: {"address": INTRUDER_ADDRESS},
    ),
    ("POST", "/v1/checkout/sessions"): Call(
        expect=404,
        body=lambda owned: {
            "price": owned["price"],
            "customer_address": INTRUDER_ADDRESS,
            "network": "base-sepolia",
            "token": "USDC",
        },
    ),
    ("GET", "/v1/checkout/sessions/{checkout_id}"): Call(
        expect=404, path_params=lambda owned: {"checkout_id": owned["checkout"]}
    ),
    ("POST", "/v1/checkout/sessions/{checkout_id}/complete"): Call(
        expect=404,
        path_params=lambda owned: {"checkout_id": owned["checkout"]},
        body=lambda owned: {"signature": "0x" + "11" * 65},
    ),
    ("GET", "/v1/subscriptions"): Call(expect=200, is_list=True),
    ("GET", "/v1/subscriptions/{subscription_id}"): Call(
        expect=404, path_params=lambda owned: {"subscription_id": owned["subscription"]}
    ),
    ("GET", "/v1/invoices"): Call(expect=200, is_list=True),
    ("GET", "/v1/invoices/{invoice_id}"): Call(
        expect=404, path_params=lambda owned: {"invoice_id": owned["invoice"]}
    ),
    ("GET", "/v1/payments"): Call(expect=200, is_list=True),
    ("GET", "/v1/payments/{payment_id}"): Call(
        expect=404, path_params=lambda owned: {"payment_id": owned["payment"]}
    ),
}


async def _v1_operations(client: httpx.AsyncClient) -> set[tuple[str, str]]:
    document = (await client.get("/openapi.json")).json()
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


async def test_every_endpoint_is_covered(client: httpx.AsyncClient) -> None:
    operations = await _v1_operations(client)

    missing = sorted(operations - set(CALLS))
    assert not missing, f"add tenancy cases to CALLS for: {missing}"
    assert not set(CALLS) - operations


async def _owner_objects(api: httpx.AsyncClient) -> Owned:
    product = (await api.post("/v1/products", json={"name": "Owner's"})).json()
    price = (
        await api.post(
            "/v1/prices",
            json={
                "product": product["id"],
                "unit_amount": 1999,
                "currency": "usd",
                "recurring": {"interval": "month"},
            },
        )
    ).json()
    payout = (
        await api.post(f"/v1/payout_addresses/{NETWORK}", json={"address": OWNER_ADDRESS})
    ).json()
    return {"product": product["id"], "price": price["id"], "payout": payout["id"]}


async def _owner_billing_objects(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str, price_id: str
) -> Owned:
    """A checkout session, subscription, invoice and payment of the owner, written directly:
    making them through the API needs a chain and a signer, and tenancy is what is tested here."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    tenant = {"workspace_id": workspace_id, "mode": Mode.TEST}
    address = "0x" + "22" * 20
    async with transaction(sessionmaker) as session:
        customer = models.Customer(id=new_id("cus"), address=address, metadata_={}, **tenant)
        session.add(customer)
        await session.flush()
        permission = models.Permission(
            id=new_id("perm"),
            customer_id=customer.id,
            network=NETWORK,
            chain_id=8453,
            source=PermissionSource.EIP712,
            status=PermissionStatus.ACTIVE,
            account=address,
            delegate=address,
            delegation_manager=address,
            delegation_hash="0x" + "33" * 32,
            token_address=address,
            token_symbol="USDC",
            token_decimals=6,
            period_amount=1,
            period_seconds=86_400,
            start_at=now,
            expires_at=now,
            payee=address,
            context=b"",
            **tenant,
        )
        session.add(permission)
        await session.flush()
        subscription = models.Subscription(
            id=new_id("sub"),
            customer_id=customer.id,
            price_id=price_id,
            permission_id=permission.id,
            quantity=1,
            status=SubscriptionStatus.ACTIVE,
            billing_anchor=now,
            period_index=0,
            current_period_start=now,
            current_period_end=now,
            cancel_at_period_end=False,
            metadata_={},
            **tenant,
        )
        session.add(subscription)
        await session.flush()
        invoice = models.Invoice(
            id=new_id("in"),
            number="OWNER-0001",
            customer_id=customer.id,
            subscription_id=subscription.id,
            period_index=0,
            period_start=now,
            period_end=now,
            status=InvoiceStatus.OPEN,
            currency="usd",
            amount_due=1999,
            amount_paid=0,
            **tenant,
        )
        session.add(invoice)
        await session.flush()
        payment = models.Payment(
            id=new_id("pay"),
            invoice_id=invoice.id,
            customer_id=customer.id,
            permission_id=permission.id,
            status=PaymentStatus.PENDING,
            amount_cents=1999,
            amount=19_990_000,
            network=NETWORK,
            chain_id=8453,
            token_address=address,
            payee=address,
            **tenant,
        )
        checkout = models.CheckoutSession(
            id=new_id("cs"),
            status=CheckoutSessionStatus.OPEN,
            price_id=price_id,
            quantity=1,
            network=NETWORK,
            chain_id=8453,
            token_symbol="USDC",
            token_address=address,
            token_decimals=6,
            customer_address=address,
            payee=address,
            delegate=address,
            delegation_manager=address,
            amount_cents=1999,
            period_amount=1,
            period_seconds=1,
            start_at=now,
            billing_anchor=now,
            permission_expires_at=now,
            delegation={},
            expires_at=now,
            metadata_={},
            **tenant,
        )
        session.add_all([payment, checkout])
    return {
        "subscription": subscription.id,
        "invoice": invoice.id,
        "payment": payment.id,
        "checkout": checkout.id,
    }


async def _owner_view(api: httpx.AsyncClient) -> list[Any]:
    return [
        (await api.get(path)).json()
        for path in (
            "/v1/products",
            "/v1/prices",
            "/v1/payout_addresses",
            "/v1/subscriptions",
            "/v1/invoices",
            "/v1/payments",
        )
    ]


@pytest.mark.parametrize("intruder", ["other_workspace", "same_workspace_live_mode"])
async def test_another_tenant_gets_404_and_changes_nothing(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_workspace: MakeWorkspace,
    make_api_key: MakeApiKey,
    intruder: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owned = await _owner_objects(api)
    owned |= await _owner_billing_objects(sessionmaker, workspace.workspace_id, owned["price"])
    before = await _owner_view(api)
    if intruder == "other_workspace":
        intruder_key = (await make_workspace("Intruder")).secret_key
    else:
        intruder_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)
    headers = {"Authorization": f"Bearer {intruder_key}"}

    for (method, template), call in CALLS.items():
        path = template.format(**call.path_params(owned))
        body = call.body(owned) if call.body else None
        response = await client.request(method, path, json=body, headers=headers)

        assert response.status_code == call.expect, (method, path, response.text)
        if call.expect == 404:
            assert response.json()["error"]["code"] == "resource_missing", (method, path)
        if call.is_list:
            assert not set(owned.values()) & {o["id"] for o in response.json()["data"]}

    assert await _owner_view(api) == before
