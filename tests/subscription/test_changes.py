"""Refusals of `changes`: an update whose metadata would outgrow its limit, and a pending update
applied while a payment is in flight or with a permission that is not the one it asked for.

`apply_pending_update` is what checkout calls once the customer completes the pending update's
session; checkout has already checked the grant against the session's terms, so the last three
refusals guard the service's own contract and are exercised by calling it directly."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from eth_account.signers.local import LocalAccount

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.db.engine import transaction
from cyphera.exceptions import AppError, ErrorKind, InvalidRequest
from cyphera.kit.ids import new_id
from cyphera.kit.metadata import MAX_KEYS
from cyphera.models import CheckoutSession, Permission, Subscription
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.models.payment import PaymentStatus
from cyphera.subscription import billing, changes
from cyphera.subscription.change_schemas import SubscriptionUpdate
from cyphera.subscription.errors import (
    PaymentInFlight,
    PermissionAccountMismatch,
    PermissionInsufficient,
    SubscriptionStateInvalid,
)
from cyphera.subscription.pending import PermissionRequester
from tests.subscription.conftest import START
from tests.subscription.helpers import World, sign_and_complete, subscribe_through_checkout

NETWORK = "base-sepolia"
PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00
UNITS = 10**4  # token units per cent (6 decimals)


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


async def test_metadata_beyond_its_limit_is_refused_and_changes_nothing(world: World) -> None:
    # Given a subscription with as many metadata keys as allowed
    sub = await world.subscribe(await world.price(3000))
    full = {f"key{i}": "value" for i in range(MAX_KEYS)}
    await world.act(
        changes.update, subscription_id=sub.subscription_id, data=SubscriptionUpdate(metadata=full)
    )
    before = await world.state_of(sub.subscription_id)

    # When one more key is merged in
    with pytest.raises(InvalidRequest) as refused:
        await world.act(
            changes.update,
            subscription_id=sub.subscription_id,
            data=SubscriptionUpdate(metadata={"one_more": "value"}),
        )

    # Then it is refused and nothing changes (the metadata included)
    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "parameter_invalid",
        ErrorKind.INVALID,
        "metadata",
    )
    assert await world.state_of(sub.subscription_id) == before

    # And removing a key in the same update makes room for it
    await world.act(
        changes.update,
        subscription_id=sub.subscription_id,
        data=SubscriptionUpdate(metadata={"key0": "", "one_more": "value"}),
    )
    metadata = (await world.subscription(sub.subscription_id)).metadata_
    assert (len(metadata), "key0" in metadata, metadata["one_more"]) == (MAX_KEYS, False, "value")


async def pending_update(
    world: World,
    registry: NetworkRegistry,
    requester: PermissionRequester,
    *,
    at: timedelta = timedelta(days=10),
) -> tuple[str, str, LocalAccount]:
    """A subscription through checkout at 30.00 a month whose move to 50.00 waits for a new
    permission, asked for `at` into the first period; returns the subscription, the pending
    update's checkout session and the customer. Without prorations (``none``), so a permission
    for exactly 50.00 a period pays for the change."""
    subscription_id, customer = await subscribe_through_checkout(
        world, registry, await world.price(3000), network=NETWORK
    )
    world.at(START + at)
    await world.act(
        changes.update,
        subscription_id=subscription_id,
        data=SubscriptionUpdate(price=await world.price(5000), proration_behavior="none"),
        requester=requester,
    )
    pending_id = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending_id is not None
    return subscription_id, pending_id, customer


async def test_completing_a_pending_update_waits_for_a_payment_in_flight(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    # Given a pending update asked for an hour before the period ends, and the renewal's payment
    # being collected when the customer completes its session
    subscription_id, pending_id, customer = await pending_update(
        world, registry, requester, at=timedelta(days=31) - timedelta(hours=1)
    )
    dearer = (await world.subscription(subscription_id)).pending_price_id
    world.at(PERIOD_END + timedelta(seconds=1))
    assert len(await billing.renew_due(world.sessionmaker, clock=world.clock)) == 1
    before = await world.state_of(subscription_id)

    # When the customer completes it
    with pytest.raises(PaymentInFlight) as refused:
        await sign_and_complete(world, registry, pending_id, customer)

    # Then it is refused: no new permission, no change, the session still open
    assert (refused.value.code, refused.value.kind) == ("payment_in_flight", ErrorKind.CONFLICT)
    assert await world.state_of(subscription_id) == before
    assert (await world.get(CheckoutSession, pending_id)).status is CheckoutSessionStatus.OPEN

    # And once the renewal is settled, completing it again applies the change
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    await sign_and_complete(world, registry, pending_id, customer)
    after = await world.subscription(subscription_id)
    assert (after.price_id, after.pending_checkout_session_id) == (dearer, None)


async def granted(world: World, like_id: str, **changed: object) -> str:
    """A new permission like `like_id`, with `changed` columns: as checkout stores a grant."""
    async with transaction(world.sessionmaker) as session:
        like = await session.get_one(Permission, like_id)
        values = {attr.key: getattr(like, attr.key) for attr in Permission.__mapper__.column_attrs}
        values |= {"id": new_id("perm"), "delegation_hash": "0x" + secrets.token_hex(32)}
        values |= {"replaced_by_id": None, **changed}
        session.add(Permission(**values))
    return str(values["id"])


async def apply(world: World, subscription_id: str, checkout_id: str, permission_id: str) -> None:
    """`changes.apply_pending_update` as checkout calls it: the subscription locked first."""
    async with transaction(world.sessionmaker) as session:
        await changes.apply_pending_update(
            session,
            subscription=await session.get_one(Subscription, subscription_id, with_for_update=True),
            checkout_id=checkout_id,
            permission=await session.get_one(Permission, permission_id),
            now=world.clock.now(),
        )


@pytest.mark.parametrize(
    ("case", "error", "code", "param", "says"),
    [
        (
            "another session",
            SubscriptionStateInvalid,
            "subscription_state_invalid",
            None,
            "no longer the subscription's pending update",
        ),
        (
            "another account",
            PermissionAccountMismatch,
            "permission_account_mismatch",
            "signature",
            "granted by another account",
        ),
        (
            "a smaller cap",
            PermissionInsufficient,
            "permission_insufficient",
            "price",
            "allows 4999 cents per period; the change needs 5000",
        ),
    ],
    ids=["another-session", "another-account", "smaller-cap"],
)
async def test_a_grant_the_pending_update_did_not_ask_for_applies_nothing(
    world: World,
    registry: NetworkRegistry,
    requester: PermissionRequester,
    case: str,
    error: type[AppError],
    code: str,
    param: str | None,
    says: str,
) -> None:
    # Given a pending update to 50.00, and a permission granted for something else: for another
    # session than the pending update's, by another account, or for less than 50.00 a period
    subscription_id, pending_id, _ = await pending_update(world, registry, requester)
    current = (await world.subscription(subscription_id)).permission_id or ""
    changed: dict[str, object] = {
        "period_amount": (4999 if case == "a smaller cap" else 5000) * UNITS
    }
    if case == "another account":
        changed["account"] = "0x" + secrets.token_hex(20)
    permission = await granted(world, current, **changed)
    checkout_id = "cs_" + "0" * 24 if case == "another session" else pending_id
    before = await world.state_of(subscription_id)

    # When it is applied
    with pytest.raises(error) as refused:
        await apply(world, subscription_id, checkout_id, permission)

    # Then it is refused, and the subscription keeps its permission, price and pending update
    assert (refused.value.code, refused.value.param) == (code, param)
    assert says in refused.value.message
    assert await world.state_of(subscription_id) == before
    assert (await world.get(Permission, current)).replaced_by_id is None
