"""Working out a change of a subscription's price and/or quantity — or refusing it: `PriceChange`
(what the change does: prorations, amounts due, the next period, whether a new permission is
needed) and `plan_change`, which both applying a change and previewing one use
(`cyphera.subscription.changes`), so a preview and the change cannot disagree.

Decisions worth knowing (``docs/subscriptions.md`` has the long form):

* **Price change**: same currency. An amount per period within the permission's on-chain
  ``period_amount``, on the same interval, applies at once; above it, the change needs a new
  permission (``requires_new_permission``: a ``pending_update``, `cyphera.subscription.pending`).
  Prorations: `cyphera.subscription.proration`.
* **Quantity** (seats) changes the same way, alone or with the price: every amount is unit price
  × quantity (the old one, then the new one), so a change is "(new price or current, new
  quantity or current)" through one path — same prorations, same cap, same ``pending_update``
  (whose ``quantity`` the new permission is granted for).
* **Another interval** (or interval_count) always needs a new permission — the on-chain window
  length is fixed — so it is always a ``pending_update`` (without a requester:
  ``409 permission_insufficient``), and the new permission's windows start when it is asked for
  (`_plan_new_interval`; what completing it does: `cyphera.subscription.changes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.coupon import service as coupons
from cyphera.kit.money import USD_DECIMALS
from cyphera.kit.periods import period_start
from cyphera.models import Invoice, Payment, Permission, Price, Subscription
from cyphera.models.payment import PaymentStatus
from cyphera.models.price import PriceType
from cyphera.models.subscription import SubscriptionStatus
from cyphera.permission.service import is_usable
from cyphera.subscription import lifecycle
from cyphera.subscription.errors import (
    PermissionInsufficient,
    PermissionUnusable,
    PriceNotUsable,
    ProrationNotChargeable,
    SubscriptionStateInvalid,
)
from cyphera.subscription.lifecycle import plan_of
from cyphera.subscription.proration import (
    ProrationBehavior,
    ProrationLine,
    apply_balance,
    lines_for_change,
    unused_time_credit,
)

__all__ = ["PriceChange", "plan_change"]

S = SubscriptionStatus
PRICE_CHANGEABLE = frozenset({S.TRIALING, S.ACTIVE})
_CHARGED = (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING, PaymentStatus.SUBMITTED)


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A change of price and/or quantity worked out at `at`: what `update` would apply, and what
    a preview shows. Either may be unchanged (`new_price` is `old_price`, or the quantities are
    equal); the amounts per period are unit price × quantity."""

    subscription: Subscription
    old_price: Price
    new_price: Price
    old_quantity: int
    new_quantity: int
    behavior: ProrationBehavior
    at: datetime
    lines: list[ProrationLine]
    # Charged at once (``always_invoice``): the net proration less the discount, if one applies.
    amount_due_now: int
    proration_balance: int
    next_period_start: datetime
    next_period_end: datetime
    # The next period's invoice, with the balance and the discount (if it still applies) applied.
    next_amount_due: int
    # The new amount per period is above the permission's cap, or the interval changes: the
    # customer must grant a new permission allowing `new_permission_cap` cents per period first
    # (`pending`).
    requires_new_permission: bool = False
    new_permission_cap: int | None = None
    # Another interval: an active subscription's schedule restarts at `at`, and its new first
    # period [`at`, `next_period_start`) is invoiced at once (`amount_due_now`); a trialing one
    # keeps its trial and bills the first paid period at the trial's end on the new interval.
    resets_billing_anchor: bool = False

    @property
    def proration_amount(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def is_invoiced_now(self) -> bool:
        """Whether the net proration is a charge invoiced at once (``always_invoice``)."""
        return (
            self.behavior is ProrationBehavior.ALWAYS_INVOICE
            and self.proration_amount > 0
            and not self.resets_billing_anchor
        )


async def plan_change(
    session: AsyncSession,
    *,
    subscription: Subscription,
    new_price: Price,
    behavior: ProrationBehavior,
    at: datetime,
    quantity: int | None = None,
    allow_new_permission: bool = False,
) -> PriceChange:
    """Work out a change to `new_price` (the current one: only the quantity changes) and
    `quantity` (None: the current one), or refuse it (state, price, on-chain permission). The
    amounts per period are unit price × quantity, before and after; the same price and quantity
    is a change with no proration lines (what `update`, which changes nothing then, does).

    With `allow_new_permission`, an amount per period above the permission's cap, or a price on
    another interval, is worked out as if the customer had granted a permission for exactly the
    new amount (``requires_new_permission``) instead of being refused; another interval restarts
    the schedule (`_plan_new_interval`).

    The subscription's discount is applied to the amounts due (the proration invoiced now, then
    the next period's invoice) by `coupons.discounts_of`, the rule the invoices are opened with,
    so a preview and the change cannot disagree. The on-chain checks use the undiscounted
    amounts: the permission is granted for the undiscounted price, and a discount can end or be
    removed before the next invoice.
    """
    at = at.replace(microsecond=0)
    new_quantity = subscription.quantity if quantity is None else quantity
    price_changes = new_price.id != subscription.price_id
    # Refusals name what the request changes: the price, else the quantity.
    param = "price" if price_changes or new_quantity == subscription.quantity else "quantity"
    if subscription.status not in PRICE_CHANGEABLE:
        raise SubscriptionStateInvalid(
            f"The price and quantity can only change while the subscription is trialing or "
            f"active; this one is {subscription.status.value}.",
            param=param,
        )
    old_price = await session.get_one(Price, subscription.price_id)
    if price_changes:
        # The current price is not checked again: the subscription keeps billing it even if it
        # was archived since, and a quantity change does not start using it anew.
        _check_price(old_price, new_price)
    resets_billing_anchor = plan_of(new_price) != plan_of(old_price)
    if resets_billing_anchor and not allow_new_permission:
        raise PermissionInsufficient(
            "The new price bills on a different interval than the customer's on-chain permission "
            f"was granted for. Create a new checkout session for price {new_price.id} so the "
            "customer can grant it, then cancel this subscription.",
            param="price",
        )
    permission = (
        await session.get(Permission, subscription.permission_id)
        if subscription.permission_id
        else None
    )
    if permission is None or not is_usable(permission, at=at):
        raise PermissionUnusable(
            "The customer's permission is revoked or expired; create a new checkout session "
            "for the new price.",
            param=param,
        )
    unit = 10 ** (permission.token_decimals - USD_DECIMALS)
    cap = permission.period_amount // unit
    old_amount = old_price.unit_amount * subscription.quantity
    new_amount = new_price.unit_amount * new_quantity
    if resets_billing_anchor:
        return await _plan_new_interval(
            session,
            subscription=subscription,
            old_price=old_price,
            new_price=new_price,
            new_quantity=new_quantity,
            behavior=behavior,
            at=at,
        )
    requires_new_permission = allow_new_permission and new_amount > cap
    # Token units the cap allows per window beyond the permission's: what a new one would add.
    extra_room = 0
    if requires_new_permission:
        extra_room = (new_amount - cap) * unit
        cap = new_amount
    if new_amount > cap:
        raise PermissionInsufficient(
            f"The new amount ({new_quantity} × {new_price.unit_amount} = {new_amount} cents per "
            f"period) is more than the customer's on-chain permission allows per period ({cap} "
            f"cents). Create a new checkout session for price {new_price.id} (quantity "
            f"{new_quantity}) so the customer can grant it, then cancel this subscription.",
            param=param,
        )
    lines: list[ProrationLine] = []
    is_noop = not price_changes and new_quantity == subscription.quantity
    if subscription.status is S.ACTIVE and behavior is not ProrationBehavior.NONE and not is_noop:
        lines = lines_for_change(
            old_amount=old_amount,
            new_amount=new_amount,
            old_price_id=old_price.id,
            new_price_id=new_price.id,
            period_start=subscription.current_period_start,
            period_end=subscription.current_period_end,
            at=at,
            old_quantity=subscription.quantity,
            new_quantity=new_quantity,
        )
    proration = sum(line.amount for line in lines)
    balance = subscription.proration_balance
    is_invoiced_now = behavior is ProrationBehavior.ALWAYS_INVOICE and proration > 0
    if is_invoiced_now:
        await _check_chargeable_now(
            session, subscription=subscription, price=old_price, permission=permission, at=at
        )
        room = extra_room + await _room_left(
            session, subscription=subscription, permission=permission
        )
        if proration * unit > room:
            raise ProrationNotChargeable(
                f"The proration ({proration} cents) does not fit in what the permission still "
                "allows in the current on-chain period; use proration_behavior "
                "create_prorations to add it to the next invoice.",
                param="proration_behavior",
            )
    else:
        balance += proration
    next_start, next_end = lifecycle.period_bounds(
        subscription, new_price, subscription.period_index + 1
    )
    next_subtotal, _ = apply_balance(new_amount, balance)
    if next_subtotal > cap:
        raise PermissionInsufficient(
            f"With the proration, the next invoice ({next_subtotal} cents) would be more than "
            f"the customer's on-chain permission allows per period ({cap} cents). Use "
            "proration_behavior always_invoice or none, or create a new checkout session.",
            param=param,
        )
    invoices = [(proration, subscription.current_period_start)] if is_invoiced_now else []
    *discount_now, next_discount = coupons.discounts_of(
        await coupons.current_discount(session, subscription.id),
        [*invoices, (next_subtotal, next_start)],
    )
    return PriceChange(
        subscription=subscription,
        old_price=old_price,
        new_price=new_price,
        old_quantity=subscription.quantity,
        new_quantity=new_quantity,
        behavior=behavior,
        at=at,
        lines=lines,
        amount_due_now=proration - sum(discount_now) if is_invoiced_now else 0,
        proration_balance=balance,
        next_period_start=next_start,
        next_period_end=next_end,
        next_amount_due=next_subtotal - next_discount,
        requires_new_permission=requires_new_permission,
        new_permission_cap=cap if requires_new_permission else None,
    )


async def _plan_new_interval(
    session: AsyncSession,
    *,
    subscription: Subscription,
    old_price: Price,
    new_price: Price,
    new_quantity: int,
    behavior: ProrationBehavior,
    at: datetime,
) -> PriceChange:
    """A change to another interval, under a new permission for exactly the new amount per
    period, `new_price` × `new_quantity` (what `pending.request` asks for).

    Trialing: nothing is due now; the first paid period is ``[trial_end, +new interval)``.
    Active: a credit for the old price's unused time (none with ``none``), then the new first
    period ``[at, +new interval)`` is invoiced at once with the balance (`apply_balance`: a larger
    credit carries over) and the discount (`coupons.discounts_of`) applied — the rule
    `billing.open_period_invoice` uses, so a preview and the change agree. ``create_prorations``
    and ``always_invoice`` are the same here: the new period is invoiced at once anyway.
    """
    new_amount = new_price.unit_amount * new_quantity
    current = await coupons.current_discount(session, subscription.id)
    balance = subscription.proration_balance
    lines: list[ProrationLine] = []
    if subscription.status is S.TRIALING:
        due_now = 0
        next_start, next_end = lifecycle.period_bounds(
            subscription, new_price, subscription.period_index + 1
        )
        next_subtotal, _ = apply_balance(new_amount, balance)
        invoices = [(next_subtotal, next_start)]
    else:
        if behavior is not ProrationBehavior.NONE:
            lines = unused_time_credit(
                old_amount=old_price.unit_amount * subscription.quantity,
                old_price_id=old_price.id,
                period_start=subscription.current_period_start,
                period_end=subscription.current_period_end,
                at=at,
                old_quantity=subscription.quantity,
            )
        due_now, balance = apply_balance(new_amount, balance + sum(line.amount for line in lines))
        interval, count = plan_of(new_price)
        next_start, next_end = (
            period_start(at, interval, count, 1),
            period_start(at, interval, count, 2),
        )
        next_subtotal, _ = apply_balance(new_amount, balance)
        invoices = [(due_now, at), (next_subtotal, next_start)]
    first_subtotal = invoices[0][0]
    if first_subtotal > new_amount:
        # Only an earlier proration still owed can do this: the new permission allows one
        # period of the new price per window.
        raise PermissionInsufficient(
            f"With the prorations still owed, the first invoice on the new price "
            f"({first_subtotal} cents) would be more than the new permission would allow per "
            f"period ({new_amount} cents).",
            param="price",
        )
    *discount_now, next_discount = coupons.discounts_of(current, invoices)
    return PriceChange(
        subscription=subscription,
        old_price=old_price,
        new_price=new_price,
        old_quantity=subscription.quantity,
        new_quantity=new_quantity,
        behavior=behavior,
        at=at,
        lines=lines,
        amount_due_now=due_now - sum(discount_now),
        proration_balance=balance,
        next_period_start=next_start,
        next_period_end=next_end,
        next_amount_due=next_subtotal - next_discount,
        requires_new_permission=True,
        new_permission_cap=new_amount,
        resets_billing_anchor=True,
    )


def _check_price(old: Price, new: Price) -> None:
    if not new.active or new.type is not PriceType.RECURRING:
        raise PriceNotUsable("A subscription needs an active recurring price.", param="price")
    if new.currency != old.currency:
        raise PriceNotUsable(
            f"The new price is in {new.currency}; this subscription bills in {old.currency}.",
            param="price",
        )


async def _check_chargeable_now(
    session: AsyncSession,
    *,
    subscription: Subscription,
    price: Price,
    permission: Permission,
    at: datetime,
) -> None:
    deadline = lifecycle.charge_deadline(subscription, price, permission, subscription.period_index)
    if deadline is None or at >= deadline:
        raise ProrationNotChargeable(
            "The current period's on-chain window has closed, so nothing more can be charged for "
            "it; use proration_behavior create_prorations to add the proration to the next "
            "invoice.",
            param="proration_behavior",
        )


async def _room_left(
    session: AsyncSession, *, subscription: Subscription, permission: Permission
) -> int:
    """Token units the permission still allows in the current period's on-chain window: its
    ``period_amount`` less what this period's invoices have taken or are taking."""
    taken = await session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(
            Invoice.subscription_id == subscription.id,
            or_(
                Invoice.period_index == subscription.period_index,
                and_(
                    Invoice.period_index.is_(None),
                    Invoice.period_start == subscription.current_period_start,
                ),
            ),
            Payment.status.in_(_CHARGED),
        )
    )
    return permission.period_amount - int(taken or 0)
