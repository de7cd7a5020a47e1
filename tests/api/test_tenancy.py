"""Every endpoint, called with a key of another tenant, finds nothing of the owner's and changes nothing.

The endpoint list comes from the OpenAPI document, so an endpoint added later without an entry in
`CALLS` fails `test_every_endpoint_is_covered` until its tenancy is tested here.
"""

from __future__ import annotations

import secrets
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
from tests.auth.signin import join, owner_of_new_workspace
from tests.fixtures.api import MakeApiKey, MakeWorkspace, WorkspaceKeys

OWNER_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
INTRUDER_ADDRESS = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
NETWORK = "base"
PAYOUT_NETWORK = "base-sepolia"  # a test key sets payouts on testnets only

Owned = dict[str, str]


@dataclass(frozen=True)
class Call:
    """How an intruder calls one endpoint, and what it must get."""

    expect: int  # 404 for the owner's objects; 200 where the call acts on the caller's own data
    path_params: Callable[[Owned], dict[str, str]] = lambda owned: {}
    body: Callable[[Owned], dict[str, Any]] | None = None
    is_list: bool = False
    query: Callable[[Owned], dict[str, str]] | None = None


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
        expect=404, path_params=lambda owned: {"network": PAYOUT_NETWORK}
    ),
    # Sets the caller's own address for a network of its mode; the owner's must stay as it was.
    ("POST", "/v1/payout_addresses/{network}"): Call(
        expect=200,
        path_params=lambda owned: {"network": owned["intruder_network"]},
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
    ("POST", "/v1/checkout/sessions/{checkout_id}/prepare"): Call(
        expect=404,
        path_params=lambda owned: {"checkout_id": owned["checkout"]},
        body=lambda owned: {"customer_address": INTRUDER_ADDRESS, "network": NETWORK},
    ),
    ("POST", "/v1/checkout/sessions/{checkout_id}/complete"): Call(
        expect=404,
        path_params=lambda owned: {"checkout_id": owned["checkout"]},
        body=lambda owned: {"signature": "0x" + "11" * 65},
    ),
    ("GET", "/v1/payment_links"): Call(expect=200, is_list=True),
    ("POST", "/v1/payment_links"): Call(expect=404, body=lambda owned: {"price": owned["price"]}),
    ("GET", "/v1/payment_links/{payment_link_id}"): Call(
        expect=404, path_params=lambda owned: {"payment_link_id": owned["payment_link"]}
    ),
    ("POST", "/v1/payment_links/{payment_link_id}"): Call(
        expect=404,
        path_params=lambda owned: {"payment_link_id": owned["payment_link"]},
        body=lambda owned: {"active": False, "metadata": {"hijacked": "yes"}},
    ),
    ("GET", "/v1/payment_links/{payment_link_id}/qr.svg"): Call(
        expect=404, path_params=lambda owned: {"payment_link_id": owned["payment_link"]}
    ),
    ("GET", "/v1/subscriptions"): Call(expect=200, is_list=True),
    ("GET", "/v1/subscriptions/{subscription_id}"): Call(
        expect=404, path_params=lambda owned: {"subscription_id": owned["subscription"]}
    ),
    ("POST", "/v1/subscriptions/{subscription_id}"): Call(
        expect=404,
        path_params=lambda owned: {"subscription_id": owned["subscription"]},
        body=lambda owned: {"cancel_at_period_end": True, "metadata": {"hijacked": "yes"}},
    ),
    ("DELETE", "/v1/subscriptions/{subscription_id}"): Call(
        expect=404, path_params=lambda owned: {"subscription_id": owned["subscription"]}
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/cancel"): Call(
        expect=404,
        path_params=lambda owned: {"subscription_id": owned["subscription"]},
        body=lambda owned: {"at_period_end": False},
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/pause"): Call(
        expect=404,
        path_params=lambda owned: {"subscription_id": owned["subscription"]},
        body=lambda owned: {},
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/resume"): Call(
        expect=404,
        path_params=lambda owned: {"subscription_id": owned["subscription"]},
        body=lambda owned: {},
    ),
    ("GET", "/v1/subscriptions/{subscription_id}/preview_change"): Call(
        expect=404,
        path_params=lambda owned: {"subscription_id": owned["subscription"]},
        query=lambda owned: {"price": owned["price"]},
    ),
    ("GET", "/v1/invoices"): Call(expect=200, is_list=True),
    ("GET", "/v1/invoices/{invoice_id}"): Call(
        expect=404, path_params=lambda owned: {"invoice_id": owned["invoice"]}
    ),
    ("GET", "/v1/invoices/{invoice_id}/lines"): Call(
        expect=404, path_params=lambda owned: {"invoice_id": owned["invoice"]}
    ),
    ("DELETE", "/v1/subscriptions/{subscription_id}/discount"): Call(
        expect=404, path_params=lambda owned: {"subscription_id": owned["subscription"]}
    ),
    ("GET", "/v1/coupons"): Call(expect=200, is_list=True),
    ("POST", "/v1/coupons"): Call(
        expect=200, body=lambda owned: {"percent_off": 10, "duration": "forever"}
    ),
    ("GET", "/v1/coupons/{coupon_id}"): Call(
        expect=404, path_params=lambda owned: {"coupon_id": owned["coupon"]}
    ),
    ("POST", "/v1/coupons/{coupon_id}"): Call(
        expect=404,
        path_params=lambda owned: {"coupon_id": owned["coupon"]},
        body=lambda owned: {"name": "hijacked", "metadata": {"hijacked": "yes"}},
    ),
    ("DELETE", "/v1/coupons/{coupon_id}"): Call(
        expect=404, path_params=lambda owned: {"coupon_id": owned["coupon"]}
    ),
    ("GET", "/v1/payments"): Call(expect=200, is_list=True),
    ("GET", "/v1/payments/{payment_id}"): Call(
        expect=404, path_params=lambda owned: {"payment_id": owned["payment"]}
    ),
    ("GET", "/v1/customers"): Call(expect=200, is_list=True),
    # The owner's wallet becomes the intruder's own customer: no 409 that would reveal it exists.
    ("POST", "/v1/customers"): Call(
        expect=200, body=lambda owned: {"address": OWNER_ADDRESS, "email": "intruder@example.com"}
    ),
    ("GET", "/v1/customers/{customer_id}"): Call(
        expect=404, path_params=lambda owned: {"customer_id": owned["customer"]}
    ),
    ("POST", "/v1/customers/{customer_id}"): Call(
        expect=404,
        path_params=lambda owned: {"customer_id": owned["customer"]},
        body=lambda owned: {"email": "hijacked@example.com", "metadata": {"hijacked": "yes"}},
    ),
    ("GET", "/v1/permissions"): Call(expect=200, is_list=True),
    ("GET", "/v1/permissions/{permission_id}"): Call(
        expect=404, path_params=lambda owned: {"permission_id": owned["permission"]}
    ),
    ("GET", "/v1/events"): Call(expect=200, is_list=True),
    ("GET", "/v1/events/{event_id}"): Call(
        expect=404, path_params=lambda owned: {"event_id": owned["event"]}
    ),
    # Networks are not tenant data: every key sees its mode's registry (tests/network).
    ("GET", "/v1/networks"): Call(expect=200, is_list=True),
    ("GET", "/v1/networks/{key}"): Call(expect=404, path_params=lambda owned: {"key": "nowhere"}),
    ("GET", "/v1/tokens"): Call(expect=200),  # tokens have no id of their own
    ("GET", "/v1/webhook_endpoints"): Call(expect=200, is_list=True),
    ("POST", "/v1/webhook_endpoints"): Call(
        expect=200,
        body=lambda owned: {"url": "https://example.com/intruder", "enabled_events": ["*"]},
    ),
    ("GET", "/v1/webhook_endpoints/{webhook_endpoint_id}"): Call(
        expect=404, path_params=lambda owned: {"webhook_endpoint_id": owned["webhook_endpoint"]}
    ),
    ("POST", "/v1/webhook_endpoints/{webhook_endpoint_id}"): Call(
        expect=404,
        path_params=lambda owned: {"webhook_endpoint_id": owned["webhook_endpoint"]},
        body=lambda owned: {"url": "https://example.com/hijacked", "disabled": True},
    ),
    ("POST", "/v1/webhook_endpoints/{webhook_endpoint_id}/rotate_secret"): Call(
        expect=404,
        path_params=lambda owned: {"webhook_endpoint_id": owned["webhook_endpoint"]},
        body=lambda owned: {"expires_in_seconds": 0},
    ),
    ("DELETE", "/v1/webhook_endpoints/{webhook_endpoint_id}"): Call(
        expect=404, path_params=lambda owned: {"webhook_endpoint_id": owned["webhook_endpoint"]}
    ),
    ("GET", "/v1/webhook_endpoints/{webhook_endpoint_id}/deliveries"): Call(
        expect=404, path_params=lambda owned: {"webhook_endpoint_id": owned["webhook_endpoint"]}
    ),
    ("GET", "/v1/webhook_endpoints/{webhook_endpoint_id}/deliveries/{delivery_id}"): Call(
        expect=404,
        path_params=lambda owned: {
            "webhook_endpoint_id": owned["webhook_endpoint"],
            "delivery_id": owned["webhook_delivery"],
        },
    ),
    ("POST", "/v1/webhook_endpoints/{webhook_endpoint_id}/deliveries/{delivery_id}/retry"): Call(
        expect=404,
        path_params=lambda owned: {
            "webhook_endpoint_id": owned["webhook_endpoint"],
            "delivery_id": owned["webhook_delivery"],
        },
    ),
    ("POST", "/v1/events/{event_id}/resend"): Call(
        expect=404,
        path_params=lambda owned: {"event_id": owned["event"]},
        body=lambda owned: {"webhook_endpoint": owned["webhook_endpoint"]},
    ),
    ("GET", "/v1/test_clocks"): Call(expect=200, is_list=True),
    # A past frozen_time (a test key) or a live key: refused either way, nothing created.
    ("POST", "/v1/test_clocks"): Call(expect=400, body=lambda owned: {"frozen_time": 0}),
    ("GET", "/v1/test_clocks/{test_clock_id}"): Call(
        expect=404, path_params=lambda owned: {"test_clock_id": owned["test_clock"]}
    ),
    ("POST", "/v1/test_clocks/{test_clock_id}/advance"): Call(
        expect=404,
        path_params=lambda owned: {"test_clock_id": owned["test_clock"]},
        body=lambda owned: {"frozen_time": int(owned["test_clock_time"]) + 86_400},
    ),
    ("DELETE", "/v1/test_clocks/{test_clock_id}"): Call(
        expect=404, path_params=lambda owned: {"test_clock_id": owned["test_clock"]}
    ),
    ("POST", "/v1/billing_portal/sessions"): Call(
        expect=404, body=lambda owned: {"customer": owned["customer"]}
    ),
    # The caller's own workspace's configuration; the owner's stays as it was.
    ("GET", "/v1/billing_portal/configuration"): Call(expect=200),
    ("POST", "/v1/billing_portal/configuration"): Call(
        expect=200, body=lambda owned: {"subscription_cancel": {"mode": "immediately"}}
    ),
}

# Sign-in and workspace management: an API key is not a signed-in account, so everything a member
# does is 401 for it; `test_another_member_gets_404_and_changes_nothing` covers the session side.
_NOT_A_SESSION = Call(expect=401)
CALLS.update(
    {
        ("POST", "/v1/auth/siwe/nonce"): Call(expect=200),  # anonymous; names no tenant
        ("POST", "/v1/auth/siwe/verify"): Call(
            expect=400, body=lambda owned: {"message": "x", "signature": "0x11"}
        ),
        ("POST", "/v1/auth/oidc/verify"): Call(
            expect=400, body=lambda owned: {"id_token": "a.b.c"}
        ),
        ("POST", "/v1/auth/logout"): _NOT_A_SESSION,
        ("GET", "/v1/account"): _NOT_A_SESSION,
        ("GET", "/v1/workspaces"): _NOT_A_SESSION,
        ("POST", "/v1/workspaces"): Call(expect=401, body=lambda owned: {"name": "Mine"}),
        ("GET", "/v1/members"): _NOT_A_SESSION,
        ("POST", "/v1/members/{member_id}"): Call(
            expect=401,
            path_params=lambda owned: {"member_id": "mem_x"},
            body=lambda owned: {"role": "owner"},
        ),
        ("DELETE", "/v1/members/{member_id}"): Call(
            expect=401, path_params=lambda owned: {"member_id": "mem_x"}
        ),
        ("GET", "/v1/invitations"): _NOT_A_SESSION,
        ("POST", "/v1/invitations"): Call(
            expect=401, body=lambda owned: {"email": "a@example.com", "role": "owner"}
        ),
        ("POST", "/v1/invitations/accept"): Call(
            expect=401, body=lambda owned: {"token": "invite_x"}
        ),
        ("POST", "/v1/invitations/{invitation_id}/revoke"): Call(
            expect=401, path_params=lambda owned: {"invitation_id": "inv_x"}
        ),
        ("GET", "/v1/api_keys"): _NOT_A_SESSION,
        ("POST", "/v1/api_keys"): Call(
            expect=401, body=lambda owned: {"name": "k", "mode": "live"}
        ),
        ("POST", "/v1/api_keys/{api_key_id}/revoke"): Call(
            expect=401, path_params=lambda owned: {"api_key_id": "key_x"}
        ),
        # A key reads the log of its own workspace and mode (the owner's view below is unchanged).
        ("GET", "/v1/audit_log"): Call(expect=200, is_list=True),
    }
)


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
        await api.post(f"/v1/payout_addresses/{PAYOUT_NETWORK}", json={"address": OWNER_ADDRESS})
    ).json()
    customer = (await api.post("/v1/customers", json={"address": OWNER_ADDRESS})).json()
    [event] = (await api.get("/v1/events", params={"type": "customer.created"})).json()["data"]
    webhook_endpoint = (
        await api.post(
            "/v1/webhook_endpoints",
            json={
                "url": "https://example.com/owner",
                "enabled_events": ["invoice.paid", "customer.created"],
            },
        )
    ).json()
    # Made after the event, the endpoint gets it by a resend: a delivery (never sent here).
    [delivery] = (
        await api.post(
            f"/v1/events/{event['id']}/resend", json={"webhook_endpoint": webhook_endpoint["id"]}
        )
    ).json()["data"]
    test_clock = (
        await api.post("/v1/test_clocks", json={"frozen_time": product["created"]})
    ).json()
    coupon = (
        await api.post(
            "/v1/coupons", json={"amount_off": 500, "currency": "usd", "duration": "once"}
        )
    ).json()
    return {
        "coupon": coupon["id"],
        "test_clock": test_clock["id"],
        "test_clock_time": str(test_clock["frozen_time"]),
        "product": product["id"],
        "price": price["id"],
        "payout": payout["id"],
        "customer": customer["id"],
        "event": event["id"],
        "webhook_endpoint": webhook_endpoint["id"],
        "webhook_delivery": delivery["id"],
    }


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
            revocation_hash="0x" + secrets.token_hex(32),
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
            accepted_networks=[NETWORK],
            accepted_tokens=["USDC"],
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
        payment_link = models.PaymentLink(
            id=new_id("plink"), price_id=price_id, quantity=1, active=True, metadata_={}, **tenant
        )
        session.add_all([payment, checkout, payment_link])
    return {
        "payment_link": payment_link.id,
        "permission": permission.id,
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
            "/v1/customers",
            "/v1/permissions",
            "/v1/events",
            "/v1/audit_log",
            "/v1/webhook_endpoints",
            "/v1/test_clocks",
            "/v1/coupons",
            "/v1/payment_links",
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
    # Not an owned id (the network list's ids are network keys): only for the payout call's path.
    own_network = PAYOUT_NETWORK if intruder == "other_workspace" else NETWORK

    for (method, template), call in CALLS.items():
        path = template.format(**call.path_params({**owned, "intruder_network": own_network}))
        body = call.body(owned) if call.body else None
        query = call.query(owned) if call.query else None
        response = await client.request(method, path, json=body, params=query, headers=headers)

        assert response.status_code == call.expect, (method, path, response.text)
        if call.expect == 404:
            assert response.json()["error"]["code"] == "resource_missing", (method, path)
        if call.is_list:
            assert not set(owned.values()) & {o["id"] for o in response.json()["data"]}

    assert await _owner_view(api) == before


# --- signed-in members (sessions) ----------------------------------------------------------


@dataclass(frozen=True)
class SessionCall:
    """How a signed-in intruder calls one management endpoint with the owner's object ids.

    `expect` is the answer in the intruder's own workspace; any call naming the owner's workspace
    in ``Cyphera-Workspace`` must be 404 whatever it is.
    """

    expect: int
    path_params: Callable[[Owned], dict[str, str]] = lambda owned: {}
    body: Callable[[Owned], dict[str, Any]] | None = None
    is_list: bool = False
    in_workspace: bool = True


SESSION_CALLS: dict[tuple[str, str], SessionCall] = {
    ("GET", "/v1/account"): SessionCall(expect=200, in_workspace=False),
    ("GET", "/v1/workspaces"): SessionCall(expect=200, is_list=True, in_workspace=False),
    ("POST", "/v1/workspaces"): SessionCall(
        expect=200, body=lambda owned: {"name": "Mine"}, in_workspace=False
    ),
    ("GET", "/v1/members"): SessionCall(expect=200, is_list=True),
    ("POST", "/v1/members/{member_id}"): SessionCall(
        expect=404,
        path_params=lambda owned: {"member_id": owned["member"]},
        body=lambda owned: {"role": "viewer"},
    ),
    ("DELETE", "/v1/members/{member_id}"): SessionCall(
        expect=404, path_params=lambda owned: {"member_id": owned["member"]}
    ),
    ("GET", "/v1/invitations"): SessionCall(expect=200, is_list=True),
    ("POST", "/v1/invitations"): SessionCall(
        expect=200, body=lambda owned: {"email": "friend@example.com", "role": "viewer"}
    ),
    ("POST", "/v1/invitations/{invitation_id}/revoke"): SessionCall(
        expect=404, path_params=lambda owned: {"invitation_id": owned["invitation"]}
    ),
    # The token is the credential and the intruder does not have it.
    ("POST", "/v1/invitations/accept"): SessionCall(
        expect=404, body=lambda owned: {"token": "invite_" + "x" * 32}, in_workspace=False
    ),
    ("GET", "/v1/api_keys"): SessionCall(expect=200, is_list=True),
    ("POST", "/v1/api_keys"): SessionCall(
        expect=200, body=lambda owned: {"name": "mine", "mode": "live"}
    ),
    ("POST", "/v1/api_keys/{api_key_id}/revoke"): SessionCall(
        expect=404, path_params=lambda owned: {"api_key_id": owned["api_key"]}
    ),
    ("GET", "/v1/audit_log"): SessionCall(expect=200, is_list=True),
    # Last: it ends the intruder's own session, which is all it can end.
    ("POST", "/v1/auth/logout"): SessionCall(expect=200, in_workspace=False),
}


async def _session_operations(client: httpx.AsyncClient) -> set[tuple[str, str]]:
    document = (await client.get("/openapi.json")).json()
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and any("Session" in requirement for requirement in operation.get("security", []))
    }


async def test_every_session_endpoint_is_covered(client: httpx.AsyncClient) -> None:
    operations = await _session_operations(client)

    assert operations == set(SESSION_CALLS)


async def _owner_team(client: httpx.AsyncClient) -> tuple[dict[str, str], Owned]:
    owner, workspace_id = await owner_of_new_workspace(client, "Owner's")
    headers = owner.headers(workspace_id)
    _, member_id = await join(client, owner, workspace_id, "developer")
    invitation = await client.post(
        "/v1/invitations", json={"email": "pending@example.com", "role": "admin"}, headers=headers
    )
    api_key = await client.post(
        "/v1/api_keys", json={"name": "owner's", "mode": "test"}, headers=headers
    )
    await client.post(
        "/v1/products",
        json={"name": "Owner's"},
        headers={"Authorization": f"Bearer {api_key.json()['secret']}"},
    )
    return headers, {
        "workspace": workspace_id,
        "member": member_id,
        "invitation": invitation.json()["id"],
        "api_key": api_key.json()["id"],
    }


async def _owner_team_view(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    paths = ("/v1/members", "/v1/invitations", "/v1/api_keys", "/v1/audit_log")
    return [(await client.get(path + "?limit=100", headers=headers)).json() for path in paths]


async def test_another_member_gets_404_and_changes_nothing(client: httpx.AsyncClient) -> None:
    owner_headers, owned = await _owner_team(client)
    before = await _owner_team_view(client, owner_headers)
    intruder, own_workspace = await owner_of_new_workspace(client, "Intruder's")

    for (method, template), call in SESSION_CALLS.items():
        path = template.format(**call.path_params(owned))
        body = call.body(owned) if call.body else None
        if call.in_workspace:
            # Naming the owner's workspace: not a member, so there is no such workspace.
            foreign = await client.request(
                method, path, json=body, headers=intruder.headers(owned["workspace"])
            )
            assert foreign.status_code == 404, (method, path, foreign.text)
            assert foreign.json()["error"]["code"] == "resource_missing", (method, path)
            assert foreign.json()["error"]["param"] == "Cyphera-Workspace", (method, path)
        headers = intruder.headers(own_workspace if call.in_workspace else None)
        response = await client.request(method, path, json=body, headers=headers)

        assert response.status_code == call.expect, (method, path, response.text)
        if call.expect == 404:
            assert response.json()["error"]["code"] == "resource_missing", (method, path)
        if call.is_list:
            assert not set(owned.values()) & {o["id"] for o in response.json()["data"]}

    assert await _owner_team_view(client, owner_headers) == before
