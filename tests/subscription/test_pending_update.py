"""Price changes that need a larger on-chain permission: the change waits as the subscription's
``pending_update`` with a ``subscription_update`` checkout session, and applies — under the new
permission — only when the subscription's own customer completes that session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.checkout import errors as checkout_errors
from cyphera.db.engine import transaction
from cyphera.kit.hosted import DEV_HOSTED_SECRET, checkout_page_url
from cyphera.kit.money import Cents, cents_to_token_units
from cyphera.models import CheckoutSession, Invoice, Payment, Permission
from cyphera.models.checkout_session import CheckoutSessionPurpose, CheckoutSessionStatus
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.permission.service import is_usable
from cyphera.subscription import actions, changes, scheduler
from cyphera.subscription.change_schemas import ProrationBehaviorName, SubscriptionUpdate
from cyphera.subscription.errors import PermissionInsufficient
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import ProrationBehavior
from tests.subscription.helpers import (
    World,
    prepare_checkout,
    sign_and_complete,
    subscribe_through_checkout,
)

NETWORK = "base-sepolia"
PRICE_A, PRICE_B, PRICE_C = 3000, 5000, 7000
BASE_URL = "https://api.example.test"
UNITS = 10**4  # token units per cent (6 decimals)


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


@pytest.fixture
def requester(world: World, registry: NetworkRegistry) -> PermissionRequester:
    return PermissionRequester(
        registry=registry,
        gateway=world.gateway,
        permission_lifetime=timedelta(days=365),
        base_url=BASE_URL,
        hosted_secret=DEV_HOSTED_SECRET.encode(),
    )


async def subscribed(world: World, registry: NetworkRegistry) -> tuple[str, LocalAccount]:
    """An active subscription to a 30.00/month price, through a real checkout, first period paid."""
    price_id = await world.price(PRICE_A)
    return await subscribe_through_checkout(world, registry, price_id, network=NETWORK)


async def change(
    world: World,
    requester: PermissionRequester,
    subscription_id: str,
    price_id: str,
    behavior: ProrationBehaviorName = "always_invoice",
) -> None:
    async with transaction(world.sessionmaker) as session:
        await changes.update(
            session,
            scope=world.scope,
            subscription_id=subscription_id,
            data=SubscriptionUpdate(price=price_id, proration_behavior=behavior),
            clock=world.clock,
            requester=requester,
        )


async def test_a_price_above_the_cap_waits_as_a_pending_update_with_a_checkout_session(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    dearer = await world.price(PRICE_B)
    before = await world.subscription(subscription_id)
    old = await world.get(Permission, before.permission_id or "")
    invoices, payments = await world.count(Invoice), await world.count(Payment)
    world.clock.advance(timedelta(days=10))

    await change(world, requester, subscription_id, dearer)

    after = await world.subscription(subscription_id)
    assert (after.price_id, after.permission_id, after.proration_balance) == (
        before.price_id,
        before.permission_id,
        0,
    )
    assert after.pending_price_id == dearer
    assert after.pending_quantity == 1
    assert after.pending_proration_behavior == "always_invoice"
    assert after.pending_checkout_session_id is not None
    assert after.pending_checkout_url == checkout_page_url(
        BASE_URL, after.pending_checkout_session_id, secret=DEV_HOSTED_SECRET.encode()
    )
    session = await world.get(CheckoutSession, after.pending_checkout_session_id)
    assert session.purpose is CheckoutSessionPurpose.SUBSCRIPTION_UPDATE
    assert session.status is CheckoutSessionStatus.OPEN
    assert session.subscription_id == subscription_id
    assert (session.price_id, session.quantity, session.amount_cents) == (dearer, 1, PRICE_B)
    assert session.customer_address == customer.address == old.account
    assert (session.network, session.token_address) == (old.network, old.token_address)
    assert session.period_amount == cents_to_token_units(Cents(PRICE_B), token_decimals=6)
    # Same window grid as the permission it replaces: the schedule lands in the same windows.
    assert (session.start_at, session.period_seconds) == (old.start_at, old.period_seconds)
    assert session.expires_at == world.clock.now() + timedelta(hours=24)
    assert after.pending_expires_at == session.expires_at
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["pending_update"] == {
        "price": dearer,
        "quantity": 1,
        "proration_behavior": "always_invoice",
        "checkout_session": {
            "id": session.id,
            "url": checkout_page_url(BASE_URL, session.id, secret=DEV_HOSTED_SECRET.encode()),
        },
        "expires_at": int(session.expires_at.timestamp()),
    }
    assert event["previous_attributes"] == {"pending_update": None}
    assert event["price"] == before.price_id
    assert (await world.count(Invoice), await world.count(Payment)) == (invoices, payments)


async def test_the_preview_tells_a_new_permission_is_needed_and_its_cap(
    world: World, registry: NetworkRegistry
) -> None:
    subscription_id, _ = await subscribed(world, registry)
    dearer = await world.price(PRICE_B)
    world.clock.advance(timedelta(days=10))

    async with world.sessionmaker() as session:
        preview = await changes.preview_change(
            session,
            scope=world.scope,
            subscription_id=subscription_id,
            price_id=dearer,
            behavior=ProrationBehavior.ALWAYS_INVOICE,
            clock=world.clock,
        )

    assert preview.requires_new_permission is True
    assert preview.new_permission_cap == PRICE_B
    # 21 of 31 days left: -3000×21/31 floored to -2033, 5000×21/31 floored to 3387.
    assert [line.amount for line in preview.lines] == [-2033, 3387]
    assert preview.amount_due_now == 1354
    assert preview.next_amount_due == PRICE_B
    assert (await world.subscription(subscription_id)).pending_price_id is None


async def test_a_second_change_replaces_the_pending_one(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    dearer, dearest = await world.price(PRICE_B), await world.price(PRICE_C)
    await change(world, requester, subscription_id, dearer)
    first = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert first is not None

    await change(world, requester, subscription_id, dearest, "none")

    after = await world.subscription(subscription_id)
    assert (after.pending_price_id, after.pending_proration_behavior) == (dearest, "none")
    assert after.pending_checkout_session_id not in (None, first)
    assert (await world.get(CheckoutSession, first)).status is CheckoutSessionStatus.EXPIRED
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["previous_attributes"]["pending_update"]["checkout_session"]["id"] == first
    with pytest.raises(checkout_errors.CheckoutSessionNotOpen):
        await sign_and_complete(world, registry, first, customer)
    assert (await world.subscription(subscription_id)).price_id == after.price_id


async def test_cancel_drops_the_pending_update(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    await change(world, requester, subscription_id, await world.price(PRICE_B))
    pending_id = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending_id is not None

    await world.act(actions.cancel, subscription_id=subscription_id)

    after = await world.subscription(subscription_id)
    assert after.status is SubscriptionStatus.CANCELED
    assert (after.pending_price_id, after.pending_checkout_session_id) == (None, None)
    assert (after.pending_expires_at, after.pending_checkout_url) == (None, None)
    assert (await world.get(CheckoutSession, pending_id)).status is CheckoutSessionStatus.EXPIRED
    event = await world.last_event(subscription_id, "subscription.canceled")
    assert event["pending_update"] is None
    assert event["previous_attributes"]["pending_update"]["checkout_session"]["id"] == pending_id
    with pytest.raises(checkout_errors.CheckoutSessionNotOpen):
        await sign_and_complete(world, registry, pending_id, customer)


async def test_a_lapsed_session_drops_the_pending_update(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, _ = await subscribed(world, registry)
    await change(world, requester, subscription_id, await world.price(PRICE_B))
    pending_id = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending_id is not None
    world.clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    assert await scheduler.expire_pending_updates(world.sessionmaker, clock=world.clock) == []

    world.clock.advance(timedelta(seconds=1))
    dropped = await scheduler.expire_pending_updates(world.sessionmaker, clock=world.clock)

    assert dropped == [subscription_id]
    after = await world.subscription(subscription_id)
    assert (after.pending_price_id, after.pending_checkout_session_id) == (None, None)
    assert (await world.get(CheckoutSession, pending_id)).status is CheckoutSessionStatus.EXPIRED
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["pending_update"] is None
    assert event["previous_attributes"]["pending_update"]["checkout_session"]["id"] == pending_id
    assert await scheduler.expire_pending_updates(world.sessionmaker, clock=world.clock) == []


async def test_another_accounts_signature_is_refused_and_nothing_changes(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, _ = await subscribed(world, registry)
    await change(world, requester, subscription_id, await world.price(PRICE_B))
    before = await world.subscription(subscription_id)
    assert before.pending_checkout_session_id is not None
    permissions, invoices = await world.count(Permission), await world.count(Invoice)
    events = await world.event_types(subscription_id)

    with pytest.raises(checkout_errors.PermissionInvalid) as refused:
        await sign_and_complete(
            world, registry, before.pending_checkout_session_id, Account.create()
        )

    assert refused.value.code == "permission_invalid"
    assert refused.value.param == "signature"
    after = await world.subscription(subscription_id)
    assert (after.price_id, after.permission_id) == (before.price_id, before.permission_id)
    assert after.pending_checkout_session_id == before.pending_checkout_session_id
    session = await world.get(CheckoutSession, before.pending_checkout_session_id)
    assert session.status is CheckoutSessionStatus.OPEN
    assert (await world.count(Permission), await world.count(Invoice)) == (permissions, invoices)
    assert await world.event_types(subscription_id) == events


async def test_its_session_cannot_be_prepared_for_another_wallet_network_or_token(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    await change(world, requester, subscription_id, await world.price(PRICE_B))
    pending_id = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending_id is not None
    before = await world.get(CheckoutSession, pending_id)
    assert (before.accepted_networks, before.accepted_tokens) == ([NETWORK], ["USDC"])
    assert before.customer_address_fixed

    # Another wallet or token: refused
    for wallet, token in ((Account.create().address, "USDC"), (customer.address, "USDT")):
        with pytest.raises(checkout_errors.CheckoutTermsFixed) as refused:
            await prepare_checkout(
                world, registry, pending_id, customer_address=wallet, network=NETWORK, token=token
            )
        assert refused.value.code == "checkout_session_terms_fixed"
    # Its own wallet, network and token (what the hosted page sends after connecting): the
    # session as it is, its terms untouched
    same = await prepare_checkout(
        world,
        registry,
        pending_id,
        customer_address=customer.address,
        network=NETWORK,
        token="USDC",
    )
    assert same.id == pending_id

    after = await world.get(CheckoutSession, pending_id)
    assert after.delegation == before.delegation
    assert after.status is CheckoutSessionStatus.OPEN


async def test_completing_applies_the_change_and_charges_the_proration_under_the_new_permission(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    dearer = await world.price(PRICE_B)
    old_id = (await world.subscription(subscription_id)).permission_id
    world.clock.advance(timedelta(days=10))
    await change(world, requester, subscription_id, dearer)
    pending_id = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending_id is not None
    world.clock.advance(timedelta(hours=1))

    completed = await sign_and_complete(world, registry, pending_id, customer)

    assert completed.checkout.status is CheckoutSessionStatus.COMPLETE
    assert completed.payment is not None
    after = await world.subscription(subscription_id)
    assert after.price_id == dearer
    assert after.permission_id not in (None, old_id)
    assert after.pending_checkout_session_id is None
    new = await world.get(Permission, after.permission_id or "")
    old = await world.get(Permission, old_id or "")
    assert new.period_amount == PRICE_B * UNITS
    assert new.account == old.account == customer.address
    assert old.replaced_by_id == new.id
    assert not is_usable(old, at=world.clock.now())
    assert is_usable(new, at=world.clock.now())
    # 20 d 23 h of 31 d left: -3000 and +5000 prorated, each floored.
    left, period = 20 * 86_400 + 23 * 3_600, 31 * 86_400
    expected = (PRICE_B * left) // period + (-PRICE_A * left) // period
    assert completed.payment.amount_cents == expected
    assert completed.payment.permission_id == new.id
    assert await world.collect(completed.payment.id) is PaymentStatus.SUCCEEDED
    assert world.gateway.charges[-1].permission_context == new.context
    invoice = await world.get(Invoice, completed.payment.invoice_id)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, expected)
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["price"] == dearer
    assert event["permission"] == new.id
    assert event["pending_update"] is None
    assert event["previous_attributes"]["permission"] == old_id
    assert event["previous_attributes"]["price"] != dearer
    assert event["previous_attributes"]["pending_update"]["price"] == dearer
    async with world.sessionmaker() as session:
        granted = (
            await session.scalars(
                select(Permission.id).where(Permission.customer_id == after.customer_id)
            )
        ).all()
    assert sorted(granted) == sorted([old.id, new.id])


async def test_without_a_requester_a_price_above_the_cap_is_still_refused(
    world: World, registry: NetworkRegistry
) -> None:
    subscription_id, _ = await subscribed(world, registry)
    dearer = await world.price(PRICE_B)

    with pytest.raises(PermissionInsufficient):
        async with transaction(world.sessionmaker) as session:
            await changes.update(
                session,
                scope=world.scope,
                subscription_id=subscription_id,
                data=SubscriptionUpdate(price=dearer),
                clock=world.clock,
            )

    assert (await world.subscription(subscription_id)).pending_price_id is None


async def test_a_change_that_fits_the_cap_replaces_the_pending_one(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, _ = await subscribed(world, registry)
    await change(world, requester, subscription_id, await world.price(PRICE_B))
    pending_id = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending_id is not None
    cheaper = await world.price(1500)

    await change(world, requester, subscription_id, cheaper, "none")

    after = await world.subscription(subscription_id)
    assert (after.price_id, after.pending_checkout_session_id) == (cheaper, None)
    assert (await world.get(CheckoutSession, pending_id)).status is CheckoutSessionStatus.EXPIRED
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["previous_attributes"]["pending_update"]["checkout_session"]["id"] == pending_id
