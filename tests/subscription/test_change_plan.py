"""Refusals of `change_plan.plan_change`: a change is only worked out when the customer's
permission — the current one, or the new one a pending update asks for — can pay for it, and a
refused change leaves everything as it was (a preview is refused the same way)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.db.engine import transaction
from cyphera.exceptions import ErrorKind
from cyphera.kit.periods import Interval
from cyphera.models import Price
from cyphera.models.payment import PaymentStatus
from cyphera.subscription import changes
from cyphera.subscription.change_schemas import ProrationBehaviorName, SubscriptionUpdate
from cyphera.subscription.errors import (
    PermissionInsufficient,
    PermissionUnusable,
    PriceNotUsable,
    ProrationNotChargeable,
)
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import ProrationBehavior
from tests.subscription.conftest import START
from tests.subscription.helpers import World, subscribe_through_checkout

PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00
CHANGE_AT = START + timedelta(days=10)  # 21 of 31 days left
NETWORK = "base-sepolia"


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


async def change(
    world: World,
    subscription_id: str,
    price_id: str,
    behavior: ProrationBehaviorName = "create_prorations",
    requester: PermissionRequester | None = None,
) -> None:
    await world.act(
        changes.update,
        subscription_id=subscription_id,
        data=SubscriptionUpdate(price=price_id, proration_behavior=behavior),
        requester=requester,
    )


async def test_prorations_owed_above_the_new_intervals_cap_are_refused(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    # Given a subscription through checkout at 60.00 a month (its permission allows 60.00 per
    # window), moved down to 30.00 at once, then up to 45.00 ten days in: 10.15 is owed on the
    # next invoice
    subscription_id, _ = await subscribe_through_checkout(
        world, registry, await world.price(6000), network=NETWORK
    )
    await change(world, subscription_id, await world.price(3000), "none")
    world.at(CHANGE_AT)
    await change(world, subscription_id, await world.price(4500))
    owed = (await world.subscription(subscription_id)).proration_balance
    assert owed == 1015  # 45.00 and -30.00 over 21 of 31 days, each floored: 3048 - 2033
    weekly = await world.price(2500, interval=Interval.WEEK)
    world.at(PERIOD_END - timedelta(days=1))
    before = await world.state_of(subscription_id)

    # When, a day before the period ends, it asks for 25.00 a week (a new permission for
    # exactly 25.00 a week, which the requester would ask the customer for)
    with pytest.raises(PermissionInsufficient) as refused:
        await change(world, subscription_id, weekly, requester=requester)

    # Then the new first week would owe 25.00 + 10.15 - 1.46 (the day left of 45.00, credited):
    # more than that new permission allows, so nothing is asked for and nothing changes
    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "permission_insufficient",
        ErrorKind.CONFLICT,
        "price",
    )
    assert "prorations still owed" in refused.value.message
    assert "(3369 cents)" in refused.value.message
    assert "(2500 cents)" in refused.value.message
    assert await world.state_of(subscription_id) == before

    # And the preview refuses it the same way
    with pytest.raises(PermissionInsufficient) as previewed:
        await world.act(
            changes.preview_change,
            subscription_id=subscription_id,
            price_id=weekly,
            behavior=ProrationBehavior.CREATE_PRORATIONS,
        )
    assert previewed.value.message == refused.value.message


@pytest.mark.parametrize("changed", ["price", "quantity"])
async def test_a_change_under_a_revoked_permission_is_refused(world: World, changed: str) -> None:
    # Given a subscription whose customer revoked their permission
    sub = await world.subscribe(await world.price(3000), cap_cents=10_000)
    data = (
        SubscriptionUpdate(price=await world.price(2000))
        if changed == "price"
        else SubscriptionUpdate(quantity=2)
    )
    await world.revoke(sub.permission_id)
    before = await world.state_of(sub.subscription_id)

    # When the merchant changes its price, or its quantity
    with pytest.raises(PermissionUnusable) as refused:
        await world.act(changes.update, subscription_id=sub.subscription_id, data=data)

    # Then it is refused, naming what the request changes, and nothing changes
    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "permission_unusable",
        ErrorKind.CONFLICT,
        changed,
    )
    assert await world.state_of(sub.subscription_id) == before


async def test_always_invoice_is_refused_when_the_window_has_no_room_left(world: World) -> None:
    # Given 30.00 a month under a permission of 50.00 per window, moved up to 50.00 a day in
    # with always_invoice (19.34 charged at once: 0.66 left in this window), then back to 30.00
    # from the next period
    sub = await world.subscribe(await world.price(3000), cap_cents=5000)
    top = await world.price(5000)
    world.at(START + timedelta(days=1))
    await change(world, sub.subscription_id, top, "always_invoice")
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert world.gateway.charges[-1].amount == 1934 * 10**4
    await change(world, sub.subscription_id, sub.price_id, "none")
    before = await world.state_of(sub.subscription_id)

    # When it moves up to 50.00 again with always_invoice
    with pytest.raises(ProrationNotChargeable) as refused:
        await change(world, sub.subscription_id, top, "always_invoice")

    # Then the 19.34 does not fit in the 0.66 the permission still allows in this window
    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "proration_not_chargeable",
        ErrorKind.CONFLICT,
        "proration_behavior",
    )
    assert "does not fit" in refused.value.message
    assert await world.state_of(sub.subscription_id) == before


async def test_a_price_in_another_currency_is_refused(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))
    euros = await world.price(2000)
    async with transaction(world.sessionmaker) as session:
        # Written directly: the catalog takes only usd for now.
        (await session.get_one(Price, euros)).currency = "eur"
    before = await world.state_of(sub.subscription_id)

    with pytest.raises(PriceNotUsable) as refused:
        await change(world, sub.subscription_id, euros)

    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "price_not_usable",
        ErrorKind.INVALID,
        "price",
    )
    assert refused.value.message == "The new price is in eur; this subscription bills in usd."
    assert await world.state_of(sub.subscription_id) == before
