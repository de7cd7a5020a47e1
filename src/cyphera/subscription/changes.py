"""Changing a subscription: `update` (price — possibly on another interval —, quantity, coupon,
metadata, ``cancel_at_period_end``), `preview_change`, and `apply_pending_update` once the
customer has granted the new permission a change waits for.

`cyphera.subscription.change_plan` works every change of price and/or quantity out, or refuses
it; this module applies what it worked out. `update` locks the subscription first, as the
actions do (`cyphera.subscription.actions`). A change within the customer's permission applies
at once, with its prorations: on the next invoice, or invoiced now (``always_invoice``). One
that needs a new permission (a larger amount per period, or another interval) changes nothing
yet: with a `PermissionRequester` it opens a ``pending_update`` with a checkout session
(`cyphera.subscription.pending`), and checkout calls `apply_pending_update` when the customer
completes it; without one it is refused (``409 permission_insufficient``).

Completing a change to **another interval** follows Stripe: while trialing, only price and
permission change (the paid periods stay anchored at the trial's end, on the new interval); while
active, the unused time of the old price is credited (unless ``proration_behavior=none``) and the
schedule is re-anchored at the completion, exactly as a resume after the paid period does, and
the new first period is invoiced and collected at once (``create_prorations`` and
``always_invoice`` are then the same). Safe on-chain for the reason any new checkout is: the
permission starts before the new anchor (at the session's creation less `START_SKEW`) and the due
dates are one new interval — at least one window — apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import get_scoped
from cyphera.auth.scope import Scope
from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import Clock, to_unix
from cyphera.kit.metadata import MetadataTooLarge, merge_metadata
from cyphera.kit.money import USD_DECIMALS
from cyphera.models import Customer, Invoice, Payment, Permission, Price, Subscription
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import billing, discounts, lifecycle, pending
from cyphera.subscription.change_plan import PriceChange, plan_change
from cyphera.subscription.change_schemas import SubscriptionUpdate
from cyphera.subscription.errors import (
    PaymentInFlight,
    PermissionAccountMismatch,
    PermissionInsufficient,
    SubscriptionStateInvalid,
)
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import ProrationBehavior
from cyphera.subscription.service import get_subscription, set_cancel_at_period_end

__all__ = ["apply_pending_update", "preview_change", "update"]

S = SubscriptionStatus


async def update(
    session: AsyncSession,
    *,
    scope: Scope,
    subscription_id: str,
    data: SubscriptionUpdate,
    clock: Clock,
    requester: PermissionRequester | None = None,
) -> Subscription:
    """Change `cancel_at_period_end`, the price and/or the quantity (with prorations), the
    coupon or metadata; one ``subscription.updated`` event with every replaced value in
    ``previous_attributes``. The same price and quantity again change nothing.

    An amount per period (price × quantity) above the customer's permission, or a price on
    another interval, becomes a ``pending_update`` with a checkout session for a new permission
    (`pending`) when a `requester` is given; without one it is refused."""
    subscription = await get_subscription(
        session, scope=scope, subscription_id=subscription_id, for_update=True
    )
    now = clock.now()
    if data.proration_behavior is not None and data.price is None and data.quantity is None:
        raise InvalidRequest(
            "proration_behavior only applies together with price or quantity",
            code="parameter_invalid",
            param="proration_behavior",
        )
    previous: dict[str, object] = {}
    if data.coupon is not None:
        # First, so the change's proration invoice gets the discount the request asks for.
        previous |= await discounts.apply_coupon(
            session, scope=scope, subscription=subscription, coupon_id=data.coupon, at=now
        )
    change = None
    price_changes = data.price is not None and data.price != subscription.price_id
    quantity_changes = data.quantity is not None and data.quantity != subscription.quantity
    if price_changes or quantity_changes:
        new_price = (
            await get_scoped(session, Price, data.price, scope, param="price")
            if data.price is not None and price_changes
            else await session.get_one(Price, subscription.price_id)
        )
        change = await plan_change(
            session,
            subscription=subscription,
            new_price=new_price,
            quantity=data.quantity,
            behavior=ProrationBehavior(data.proration_behavior or "create_prorations"),
            at=now,
            allow_new_permission=requester is not None,
        )
    if change is not None and change.requires_new_permission and requester is not None:
        previous |= await pending.request(
            session,
            subscription=subscription,
            permission=await session.get_one(Permission, subscription.permission_id),
            new_price=change.new_price,
            quantity=change.new_quantity,
            behavior=change.behavior,
            requester=requester,
            now=now,
            resets_billing_anchor=change.resets_billing_anchor,
        )
        change = None  # applied when the customer completes the checkout session
    if data.cancel_at_period_end is not None:
        previous |= set_cancel_at_period_end(subscription, value=data.cancel_at_period_end, at=now)
    if data.metadata is not None:
        try:
            merged = merge_metadata(subscription.metadata_, data.metadata)
        except MetadataTooLarge as exc:
            raise InvalidRequest(str(exc), code="parameter_invalid", param="metadata") from None
        if merged != subscription.metadata_:
            previous["metadata"] = dict(subscription.metadata_)
            subscription.metadata_ = merged
    if change is not None:
        if subscription.pending_checkout_session_id is not None:
            # A change that applies at once replaces a pending one, as a second pending would.
            previous["pending_update"] = await lifecycle.drop_pending_update(session, subscription)
        previous |= _set_price(subscription, change)
    if previous:
        await lifecycle.record_event(
            session, subscription, "subscription.updated", previous=previous
        )
    if change is not None:
        await _invoice_proration_now(session, subscription, change)
    return subscription


def _set_price(subscription: Subscription, change: PriceChange) -> dict[str, object]:
    """Apply `change` (price, quantity, proration balance) to the subscription; returns the
    previous attributes."""
    previous = _set_item(subscription, change)
    if change.proration_balance != subscription.proration_balance:
        previous["proration_balance"] = subscription.proration_balance
    subscription.proration_balance = change.proration_balance
    return previous


def _set_item(subscription: Subscription, change: PriceChange) -> dict[str, object]:
    """Set the price and the quantity of `change`; the previous values of those that change."""
    previous: dict[str, object] = {}
    if change.new_price.id != subscription.price_id:
        previous["price"] = subscription.price_id
        subscription.price_id = change.new_price.id
    if change.new_quantity != subscription.quantity:
        previous["quantity"] = subscription.quantity
        subscription.quantity = change.new_quantity
    return previous


async def _invoice_proration_now(
    session: AsyncSession, subscription: Subscription, change: PriceChange
) -> Payment | None:
    """``always_invoice``: invoice the net proration now, less the discount (`plan_change`
    worked out the same amount with the same rule), collected under the subscription's
    permission (the new one, after a pending update)."""
    if not change.is_invoiced_now:
        return None
    permission = await session.get_one(Permission, subscription.permission_id)
    _, payment = await billing.open_proration_invoice(
        session,
        subscription=subscription,
        permission=permission,
        subtotal=change.proration_amount,
        currency=change.new_price.currency,
        at=change.at,
        lines=change.lines,
    )
    return payment


async def apply_pending_update(
    session: AsyncSession,
    *,
    subscription: Subscription,
    checkout_id: str,
    permission: Permission,
    now: datetime,
) -> Payment | None:
    """The customer granted the new permission of the pending update `checkout_id`: switch the
    subscription (locked by the caller) to `permission`, retire the one it replaces, and apply
    the change of price and/or quantity with its proration behaviour. Returns the payment to
    collect now, if any:
    the ``always_invoice`` proration, or — a change of interval on an active subscription — the
    new first period's invoice (`_restart_schedule`)."""
    if subscription.pending_checkout_session_id != checkout_id:
        raise SubscriptionStateInvalid(
            "This checkout session is no longer the subscription's pending update.",
        )
    if await _has_payment_in_flight(session, subscription):
        raise PaymentInFlight(
            "A payment of this subscription is being collected; complete the session again once "
            "it is settled (about a minute).",
        )
    customer = await session.get_one(Customer, subscription.customer_id)
    if permission.account.lower() != customer.address.lower():
        raise PermissionAccountMismatch(
            "The permission was granted by another account than the subscription's customer.",
            param="signature",
        )
    new_price = await session.get_one(Price, subscription.pending_price_id)
    behavior = ProrationBehavior(subscription.pending_proration_behavior or "create_prorations")
    replaced = await session.get_one(Permission, subscription.permission_id, with_for_update=True)
    previous: dict[str, object] = {"permission": replaced.id}
    replaced.replaced_by_id = permission.id
    subscription.permission_id = permission.id
    # Worked out as `update` did when it asked for this permission: for the new amount per
    # period, which is exactly what the permission just granted allows (checkout validated it
    # against the session's terms), and on the new price's interval.
    change = await plan_change(
        session,
        subscription=subscription,
        new_price=new_price,
        quantity=subscription.pending_quantity,
        behavior=behavior,
        at=now,
        allow_new_permission=True,
    )
    granted = permission.period_amount // 10 ** (permission.token_decimals - USD_DECIMALS)
    if change.new_permission_cap is not None and change.new_permission_cap > granted:
        raise PermissionInsufficient(
            f"The granted permission allows {granted} cents per period; the change needs "
            f"{change.new_permission_cap}. Change the price or quantity again for a new checkout "
            "session.",
            param="price",
        )
    previous["pending_update"] = await lifecycle.drop_pending_update(session, subscription)
    if change.resets_billing_anchor:
        restarted, payment = await _restart_schedule(session, subscription, change, permission)
        previous |= restarted
        await lifecycle.record_event(
            session, subscription, "subscription.updated", previous=previous
        )
        return payment
    previous |= _set_price(subscription, change)
    await lifecycle.record_event(session, subscription, "subscription.updated", previous=previous)
    return await _invoice_proration_now(session, subscription, change)


async def _restart_schedule(
    session: AsyncSession, subscription: Subscription, change: PriceChange, permission: Permission
) -> tuple[dict[str, object], Payment | None]:
    """Apply a change of interval (`change.resets_billing_anchor`) under `permission`, the new
    one; returns the previous attributes and the payment of the invoice opened now, if any.

    Trialing: only the price changes; the trial keeps its end, where the paid periods are
    anchored (``anchor_index`` 1), now on the new interval. Active: the credit for the old
    price's unused time goes to the balance, the schedule is re-anchored at the change as a
    resume after the paid period does, and the new first period is invoiced at once
    (`billing.open_period_invoice` applies the balance — a larger credit carries over — and the
    discount, and enqueues the collection). The new quantity, if any, is set first: the new
    first period bills it."""
    previous = _set_item(subscription, change)
    if subscription.status is S.TRIALING:
        return previous, None
    balance = subscription.proration_balance
    previous |= {
        "billing_cycle_anchor": to_unix(subscription.billing_anchor),
        "current_period_start": to_unix(subscription.current_period_start),
        "current_period_end": to_unix(subscription.current_period_end),
    }
    subscription.proration_balance = balance + change.proration_amount
    lifecycle.restart_schedule(subscription, change.new_price, at=change.at)
    _, payment = await billing.open_period_invoice(
        session, subscription=subscription, price=change.new_price, permission=permission
    )
    if subscription.proration_balance != balance:
        previous["proration_balance"] = balance
    return previous, payment


async def _has_payment_in_flight(session: AsyncSession, subscription: Subscription) -> bool:
    found = await session.scalar(
        select(Payment.id)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(
            Invoice.subscription_id == subscription.id,
            Payment.status.in_((PaymentStatus.PENDING, PaymentStatus.SUBMITTED)),
        )
        .limit(1)
    )
    return found is not None


async def preview_change(
    session: AsyncSession,
    *,
    scope: Scope,
    subscription_id: str,
    behavior: ProrationBehavior,
    clock: Clock,
    price_id: str | None = None,
    quantity: int | None = None,
) -> PriceChange:
    """What changing to `price_id` and/or `quantity` now would do (the one left out stays
    current; at least one is needed); refused exactly as the change would be."""
    if price_id is None and quantity is None:
        raise InvalidRequest(
            "Give the price or the quantity (or both) to preview a change to.",
            code="parameter_missing",
            param="price",
        )
    subscription = await get_subscription(session, scope=scope, subscription_id=subscription_id)
    new_price = (
        await get_scoped(session, Price, price_id, scope, param="price")
        if price_id is not None and price_id != subscription.price_id
        else await session.get_one(Price, subscription.price_id)
    )
    return await plan_change(
        session,
        subscription=subscription,
        new_price=new_price,
        quantity=quantity,
        behavior=behavior,
        at=clock.now(),
        allow_new_permission=True,
    )
