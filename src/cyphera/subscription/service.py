"""Subscriptions: what a merchant can do to one — cancel, pause, resume, change its price or
quantity.

Each action locks the subscription (then its invoices, then their payments: the order
`billing.collect` uses, so an action waits for a charge in flight instead of racing it), asks
`lifecycle.transition` for the status change, and records its event in the same transaction.

Decisions worth knowing (``docs/subscriptions.md`` has the long form):

* **Cancel now** voids the open invoices, except one whose payment is already in flight: that
  payment's outcome settles it (paid if the transfer landed, void otherwise). Once canceled,
  `billing.collect` refuses to charge, even for a collection job queued before the cancel.
* **Pause** (Stripe's ``pause_collection`` with ``behavior=void``): nothing is renewed or charged
  while paused; open invoices are voided. **Resume** before the paid period ends simply continues
  the schedule. Resume after it **re-anchors** the schedule at the resume instant and bills a
  full new period at once. That is always safe on-chain: the resume is at or after the old
  period's end, which is at or after the end of the on-chain window the last charge used, so the
  new first charge falls in a fresh window, and the new due dates are again one window apart.
* **Price change**: same currency. An amount per period within the permission's on-chain
  ``period_amount``, on the same interval, applies at once; above it, `update` changes nothing yet
  and opens a ``pending_update`` with a checkout session for a larger permission
  (`cyphera.subscription.pending`); `apply_pending_update` applies the change under the new
  permission when the customer completes it. Prorations: `cyphera.subscription.proration`.
* **Quantity** (seats) changes the same way, alone or with the price: every amount is unit price
  × quantity (the old one, then the new one), so a change is "(new price or current, new
  quantity or current)" through one path — same prorations, same cap, same ``pending_update``
  (whose ``quantity`` the new permission is granted for).
* **Another interval** (or interval_count) always needs a new permission — the on-chain window
  length is fixed — so it is always a ``pending_update`` (without a requester:
  ``409 permission_insufficient``), and the new permission's windows start when it is asked for.
  Completing it follows Stripe: while trialing, only price and permission change (the paid
  periods stay anchored at the trial's end, on the new interval); while active, the unused time
  of the old price is credited (unless ``proration_behavior=none``) and the schedule is
  re-anchored at the completion, exactly as a resume after the paid period does, and the new
  first period is invoiced and collected at once (``create_prorations`` and ``always_invoice``
  are then the same). Safe on-chain for the reason any new checkout is: the permission starts
  before the new anchor (at the session's creation less `START_SKEW`) and the due dates are one
  new interval — at least one window — apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import get_scoped
from cyphera.auth.scope import Scope, scoped
from cyphera.coupon import service as coupons
from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import Clock, from_unix, to_unix
from cyphera.kit.ids import has_prefix
from cyphera.kit.metadata import MetadataTooLarge, merge_metadata
from cyphera.kit.money import USD_DECIMALS
from cyphera.kit.periods import period_start
from cyphera.models import Customer, Invoice, Payment, Permission, Price, Subscription
from cyphera.models.payment import PaymentStatus
from cyphera.models.price import PriceType
from cyphera.models.subscription import SubscriptionStatus
from cyphera.permission.service import is_usable
from cyphera.subscription import billing, discounts, dunning, lifecycle, pending
from cyphera.subscription.errors import (
    PaymentInFlight,
    PermissionAccountMismatch,
    PermissionInsufficient,
    PermissionUnusable,
    PriceNotUsable,
    ProrationNotChargeable,
    SubscriptionMissing,
    SubscriptionStateInvalid,
)
from cyphera.subscription.lifecycle import create, plan_of
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import (
    ProrationBehavior,
    ProrationLine,
    apply_balance,
    lines_for_change,
    unused_time_credit,
)
from cyphera.subscription.schemas import SubscriptionUpdate

__all__ = [
    "PermissionRequester",
    "PriceChange",
    "apply_pending_update",
    "cancel",
    "create",
    "get_subscription",
    "pause",
    "plan_of",
    "preview_change",
    "resume",
    "resume_subscription",
    "update",
]

S = SubscriptionStatus
SUBSCRIPTION_ID_PREFIX = "sub"
PRICE_CHANGEABLE = frozenset({S.TRIALING, S.ACTIVE})
_CHARGED = (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING, PaymentStatus.SUBMITTED)


async def get_subscription(
    session: AsyncSession, *, scope: Scope, subscription_id: str, for_update: bool = False
) -> Subscription:
    """The scope's subscription `subscription_id` (locked if `for_update`), or 404."""
    subscription = None
    if has_prefix(subscription_id, SUBSCRIPTION_ID_PREFIX):
        statement = scoped(select(Subscription).where(Subscription.id == subscription_id), scope)
        if for_update:
            statement = statement.with_for_update()
        subscription = (await session.execute(statement)).scalar_one_or_none()
    if subscription is None:
        raise SubscriptionMissing(f"No such subscription: {subscription_id!r}", param="id")
    return subscription


# --- cancel ----------------------------------------------------------------------------------


async def cancel(
    session: AsyncSession,
    *,
    scope: Scope,
    subscription_id: str,
    clock: Clock,
    at_period_end: bool = False,
) -> Subscription:
    """Cancel now, or at the end of the current period (`at_period_end`)."""
    subscription = await get_subscription(
        session, scope=scope, subscription_id=subscription_id, for_update=True
    )
    now = clock.now()
    if at_period_end:
        previous = _set_cancel_at_period_end(subscription, value=True, at=now)
        if previous:
            await lifecycle.record_event(
                session, subscription, "subscription.updated", previous=previous
            )
        return subscription
    lifecycle.check_transition(subscription, S.CANCELED, action="cancel")
    await dunning.close_open_invoices(session, subscription)
    await lifecycle.transition(
        session, subscription, S.CANCELED, at=now, reason=lifecycle.CANCELLATION_REQUESTED
    )
    return subscription


def _set_cancel_at_period_end(
    subscription: Subscription, *, value: bool, at: datetime
) -> dict[str, object]:
    """Set or clear ``cancel_at_period_end``; returns the previous attributes (empty: no change)."""
    if subscription.status not in lifecycle.PERIOD_END_CANCELABLE:
        raise SubscriptionStateInvalid(
            f"cancel_at_period_end can only change while the subscription is trialing, active or "
            f"past_due; this one is {subscription.status.value}.",
            param="cancel_at_period_end",
        )
    if subscription.cancel_at_period_end == value:
        return {}
    previous: dict[str, object] = {
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": (
            None if subscription.canceled_at is None else to_unix(subscription.canceled_at)
        ),
        "cancellation_details": {"reason": subscription.cancellation_reason},
    }
    subscription.cancel_at_period_end = value
    # Stripe's convention: canceled_at is when the cancellation was asked for.
    subscription.canceled_at = at if value else None
    subscription.cancellation_reason = lifecycle.CANCELLATION_REQUESTED if value else None
    return previous


# --- pause and resume --------------------------------------------------------------------------


async def pause(
    session: AsyncSession,
    *,
    scope: Scope,
    subscription_id: str,
    clock: Clock,
    resumes_at: int | None = None,
) -> Subscription:
    """Pause an active or past-due subscription: no renewal, no charge, open invoices voided."""
    subscription = await get_subscription(
        session, scope=scope, subscription_id=subscription_id, for_update=True
    )
    now = clock.now()
    lifecycle.check_transition(subscription, S.PAUSED, action="pause")
    if subscription.cancel_at_period_end:
        raise SubscriptionStateInvalid(
            "This subscription is set to cancel at the end of its period; clear "
            "cancel_at_period_end before pausing it.",
            param="cancel_at_period_end",
        )
    resume_at = None if resumes_at is None else from_unix(resumes_at)
    if resume_at is not None and resume_at <= now:
        raise InvalidRequest(
            "resumes_at must be in the future", code="parameter_invalid", param="resumes_at"
        )
    await dunning.close_open_invoices(session, subscription)
    subscription.resumes_at = resume_at
    await lifecycle.transition(session, subscription, S.PAUSED, at=now)
    return subscription


async def resume(
    session: AsyncSession, *, scope: Scope, subscription_id: str, clock: Clock
) -> Subscription:
    subscription = await get_subscription(
        session, scope=scope, subscription_id=subscription_id, for_update=True
    )
    await resume_subscription(session, subscription, now=clock.now())
    return subscription


async def resume_subscription(
    session: AsyncSession, subscription: Subscription, *, now: datetime
) -> Invoice | None:
    """Resume a paused subscription (locked by the caller); returns the invoice it opened, if any.

    Before the paid period's end the schedule continues unchanged. At or after it, the schedule
    is re-anchored at `now` and the new first period is invoiced and collected at once.
    """
    if subscription.status is not S.PAUSED:
        raise SubscriptionStateInvalid(
            f"Only a paused subscription can be resumed; this one is {subscription.status.value}."
        )
    permission = (
        await session.get(Permission, subscription.permission_id)
        if subscription.permission_id
        else None
    )
    if permission is None or not is_usable(permission, at=now):
        raise PermissionUnusable(
            "The customer's permission is revoked or expired, so this subscription cannot be "
            "charged again. Cancel it and create a new checkout session for the customer."
        )
    if now < subscription.current_period_end:
        await lifecycle.transition(session, subscription, S.ACTIVE, at=now)
        return None
    price = await session.get_one(Price, subscription.price_id)
    lifecycle.restart_schedule(subscription, price, at=now)
    await lifecycle.transition(session, subscription, S.ACTIVE, at=now)
    invoice, _ = await billing.open_period_invoice(
        session, subscription=subscription, price=price, permission=permission
    )
    return invoice


# --- update and price changes ----------------------------------------------------------------


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
        previous |= _set_cancel_at_period_end(subscription, value=data.cancel_at_period_end, at=now)
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
