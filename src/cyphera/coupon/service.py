"""Coupons and discounts: creation rules, redemption, and the discount of an invoice.

Money is integer cents and a percentage is stored in **basis points** (``25.5%`` → ``2550``), so
all arithmetic is on integers. The one rounding rule: a percentage discount is
``floor(subtotal × basis_points / 10000)`` cents (rounded down; the customer never gets a
fraction of a cent more than the percentage says). An ``amount_off`` discount is
``min(amount_off, subtotal)``: it never takes an invoice below zero and nothing carries over.

Durations (a discount is a coupon applied to one subscription at ``start``):

* ``once``: the first invoice with a positive subtotal after it is applied; then it ends. If
  that invoice is voided before being paid, the discount is current again and applies to the
  next one (`cyphera.invoice.service.void`).
* ``repeating``: the invoices whose period starts before ``start + duration_in_months`` (month
  arithmetic of `cyphera.kit.periods.add_months`, month-end clamped).
* ``forever``: every invoice.

"Invoice" is any invoice of the subscription: a period's, or an ``always_invoice`` proration
invoice (whose period is the current one), as Stripe discounts both. `application` is the rule;
`for_invoice` applies it to an invoice being opened, `discounts_of` to a preview.

Redemption is one conditional ``UPDATE … SET times_redeemed = times_redeemed + 1 WHERE valid
AND times_redeemed < max_redemptions AND redeem_by > now``: PostgreSQL re-checks the condition
after a concurrent redemption commits, so ``max_redemptions`` can never be exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import get_scoped
from cyphera.auth.scope import Scope
from cyphera.catalog.service import SUPPORTED_CURRENCIES
from cyphera.coupon import errors
from cyphera.coupon.schemas import MAX_DURATION_IN_MONTHS, CouponCreate, CouponUpdate
from cyphera.kit.clock import Clock, from_unix
from cyphera.kit.ids import new_id
from cyphera.kit.metadata import MetadataTooLarge, merge_metadata
from cyphera.kit.periods import add_months
from cyphera.models import Coupon, Discount, Subscription
from cyphera.models.coupon import CouponDuration

BASIS_POINTS = 10_000


def percent_to_basis_points(percent: float) -> int:
    """`percent` (0 < x ≤ 100, at most two decimals) in basis points; `CouponParameterInvalid`
    otherwise."""
    try:
        scaled = Decimal(str(percent)) * 100
    except InvalidOperation:
        scaled = Decimal(-1)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise errors.CouponParameterInvalid(
            "percent_off has at most two decimals", param="percent_off"
        )
    bp = int(scaled)
    if not 0 < bp <= BASIS_POINTS:
        raise errors.CouponParameterInvalid(
            "percent_off must be more than 0 and at most 100", param="percent_off"
        )
    return bp


def discount_amount(coupon: Coupon, subtotal: int) -> int:
    """Cents `coupon` takes off an invoice of `subtotal` cents (the module's rounding rule)."""
    if subtotal <= 0:
        return 0
    if coupon.percent_off_bp is not None:
        return subtotal * coupon.percent_off_bp // BASIS_POINTS
    return min(coupon.amount_off or 0, subtotal)


async def create_coupon(
    session: AsyncSession, *, scope: Scope, data: CouponCreate, clock: Clock
) -> Coupon:
    if (data.percent_off is None) == (data.amount_off is None):
        raise errors.CouponAmountMissing(
            "Send exactly one of percent_off and amount_off.", param="percent_off"
        )
    bp = None if data.percent_off is None else percent_to_basis_points(data.percent_off)
    currency = None
    if data.amount_off is not None:
        if data.amount_off <= 0:
            raise errors.CouponParameterInvalid(
                "amount_off must be a positive number of cents", param="amount_off"
            )
        if data.currency is None:
            raise errors.CouponParameterInvalid(
                "amount_off needs a currency", param="currency", code="parameter_missing"
            )
        currency = data.currency.lower()
        if currency not in SUPPORTED_CURRENCIES:
            raise errors.CurrencyUnsupported(
                f"Unsupported currency {data.currency!r}; supported: "
                f"{', '.join(SUPPORTED_CURRENCIES)}",
                param="currency",
            )
    elif data.currency is not None:
        raise errors.CouponParameterInvalid(
            "currency only applies together with amount_off", param="currency"
        )
    repeating = data.duration == CouponDuration.REPEATING.value
    if repeating != (data.duration_in_months is not None):
        raise errors.CouponDurationInvalid(
            "duration_in_months is required with duration=repeating, and only then",
            param="duration_in_months",
        )
    if data.duration_in_months is not None and not (
        1 <= data.duration_in_months <= MAX_DURATION_IN_MONTHS
    ):
        raise errors.CouponDurationInvalid(
            f"duration_in_months must be between 1 and {MAX_DURATION_IN_MONTHS}",
            param="duration_in_months",
        )
    now = clock.now()
    redeem_by = None if data.redeem_by is None else from_unix(data.redeem_by)
    if redeem_by is not None and redeem_by <= now:
        raise errors.CouponParameterInvalid("redeem_by must be in the future", param="redeem_by")
    coupon = Coupon(
        id=new_id("coupon"),
        workspace_id=scope.workspace_id,
        mode=scope.mode,
        created_at=now,
        updated_at=now,
        name=data.name,
        percent_off_bp=bp,
        amount_off=data.amount_off,
        currency=currency,
        duration=CouponDuration(data.duration),
        duration_in_months=data.duration_in_months,
        max_redemptions=data.max_redemptions,
        redeem_by=redeem_by,
        times_redeemed=0,
        valid=True,
        metadata_=merge_metadata({}, data.metadata or {}),
    )
    session.add(coupon)
    await session.flush()
    return coupon


async def update_coupon(
    session: AsyncSession, *, scope: Scope, coupon_id: str, data: CouponUpdate, clock: Clock
) -> Coupon:
    coupon = await get_scoped(session, Coupon, coupon_id, scope)
    if data.name is not None:
        coupon.name = data.name
    if data.metadata is not None:
        try:
            coupon.metadata_ = merge_metadata(coupon.metadata_, data.metadata)
        except MetadataTooLarge as exc:
            raise errors.CouponParameterInvalid(str(exc), param="metadata") from None
    coupon.updated_at = clock.now()
    await session.flush()
    return coupon


async def delete_coupon(
    session: AsyncSession, *, scope: Scope, coupon_id: str, clock: Clock
) -> Coupon:
    """No new redemption; the discounts it already gave keep applying (as Stripe)."""
    coupon = await get_scoped(session, Coupon, coupon_id, scope)
    if coupon.deleted_at is None:
        coupon.valid = False
        coupon.deleted_at = clock.now()
    await session.flush()
    return coupon


def check_redeemable(coupon: Coupon, *, currency: str, now: datetime) -> None:
    """Refuse a coupon that cannot be applied now to a price in `currency`."""
    if not coupon.valid:
        raise errors.CouponInvalid(f"Coupon {coupon.id} was deleted", param="coupon")
    if coupon.redeem_by is not None and now >= coupon.redeem_by:
        raise errors.CouponExpired(
            f"Coupon {coupon.id} could be redeemed until its redeem_by", param="coupon"
        )
    if coupon.currency is not None and coupon.currency != currency:
        raise errors.CouponCurrencyMismatch(
            f"Coupon {coupon.id} is in {coupon.currency}, the price in {currency}", param="coupon"
        )
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise errors.CouponMaxRedemptions(
            f"Coupon {coupon.id} reached its max_redemptions", param="coupon"
        )


async def redeemable(
    session: AsyncSession, *, scope: Scope, coupon_id: str, currency: str, now: datetime
) -> Coupon:
    """The coupon `coupon_id` if it can be applied now (checked, not counted)."""
    coupon = await get_scoped(session, Coupon, coupon_id, scope, param="coupon")
    check_redeemable(coupon, currency=currency, now=now)
    return coupon


async def redeem(session: AsyncSession, *, coupon_id: str, currency: str, now: datetime) -> Coupon:
    """Count one redemption of `coupon_id` atomically, or refuse (see the module docstring)."""
    counted = (
        await session.execute(
            update(Coupon)
            .where(
                Coupon.id == coupon_id,
                Coupon.valid.is_(True),
                or_(Coupon.currency.is_(None), Coupon.currency == currency),
                or_(Coupon.redeem_by.is_(None), Coupon.redeem_by > now),
                or_(
                    Coupon.max_redemptions.is_(None),
                    Coupon.times_redeemed < Coupon.max_redemptions,
                ),
            )
            .values(times_redeemed=Coupon.times_redeemed + 1)
            .returning(Coupon.id)
        )
    ).scalar_one_or_none()
    coupon = await session.get_one(Coupon, coupon_id, populate_existing=True)
    if counted is None:
        check_redeemable(coupon, currency=currency, now=now)
        raise errors.CouponMaxRedemptions(
            f"Coupon {coupon.id} reached its max_redemptions", param="coupon"
        )
    return coupon


# --- discounts ---------------------------------------------------------------------------------


async def current_discount(
    session: AsyncSession, subscription_id: str, *, for_update: bool = False
) -> tuple[Discount, Coupon] | None:
    query = (
        select(Discount, Coupon)
        .join(Coupon, Coupon.id == Discount.coupon_id)
        .where(Discount.subscription_id == subscription_id, Discount.ended_at.is_(None))
    )
    if for_update:
        query = query.with_for_update(of=Discount)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


def discount_end(coupon: Coupon, start: datetime) -> datetime | None:
    """When a discount of `coupon` starting at `start` ends: a `repeating` one after its months."""
    if coupon.duration is CouponDuration.REPEATING and coupon.duration_in_months:
        return add_months(start, coupon.duration_in_months)
    return None


async def attach(
    session: AsyncSession, *, subscription: Subscription, coupon: Coupon, at: datetime
) -> Discount:
    """Make `coupon` the subscription's discount from `at` (ending the current one, if any).
    The caller has counted the redemption (`redeem`)."""
    await end_current(session, subscription_id=subscription.id, at=at)
    discount = Discount(
        id=new_id("di"),
        workspace_id=subscription.workspace_id,
        mode=subscription.mode,
        coupon_id=coupon.id,
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        start=at,
        end=discount_end(coupon, at),
    )
    session.add(discount)
    await session.flush()
    return discount


async def end_current(
    session: AsyncSession, *, subscription_id: str, at: datetime
) -> Discount | None:
    """End the subscription's current discount, if any; returns it."""
    current = await current_discount(session, subscription_id, for_update=True)
    if current is None:
        return None
    discount, _ = current
    discount.ended_at = at
    await session.flush()
    return discount


@dataclass(frozen=True, slots=True)
class Application:
    """How a discount meets one invoice: the cents it takes off, and when the invoice ends it
    (a `once` discount used up, a `repeating` one past its months), if it does."""

    amount: int  # cents taken off, ≥ 0
    applies: bool
    ends_at: datetime | None = None


def application(
    discount: Discount, coupon: Coupon, *, subtotal: int, period_start: datetime
) -> Application:
    """The one rule of which invoice a discount applies to, shared by the invoices billing opens
    (`for_invoice`) and the previews (`discounts_of`): pure, nothing changes.

    An invoice for a period starting at or after a `repeating` discount's end is not discounted
    and ends it there; an invoice of zero is not discounted and does not use a `once` discount
    up; any other invoice is discounted (the module's rounding rule), and uses a `once` one up.
    """
    if discount.end is not None and period_start >= discount.end:
        return Application(amount=0, applies=False, ends_at=discount.end)
    if subtotal <= 0:
        return Application(amount=0, applies=False)
    return Application(
        amount=discount_amount(coupon, subtotal),
        applies=True,
        ends_at=max(period_start, discount.start)
        if coupon.duration is CouponDuration.ONCE
        else None,
    )


def discounts_of(
    current: tuple[Discount, Coupon] | None, invoices: Sequence[tuple[int, datetime]]
) -> list[int]:
    """The cents `current` would take off each of `invoices` (subtotal, period start), opened
    one after the other: what `for_invoice` would do to them, without changing anything."""
    amounts: list[int] = []
    for subtotal, period_start in invoices:
        if current is None:
            amounts.append(0)
            continue
        applied = application(*current, subtotal=subtotal, period_start=period_start)
        amounts.append(applied.amount if applied.applies else 0)
        if applied.ends_at is not None:
            current = None
    return amounts


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    discount: Discount
    coupon: Coupon
    amount: int  # cents taken off, ≥ 0


async def for_invoice(
    session: AsyncSession,
    *,
    subscription: Subscription,
    subtotal: int,
    period_start: datetime,
) -> AppliedDiscount | None:
    """The discount of the subscription's invoice of `subtotal` for the period starting at
    `period_start` — a period invoice or an ``always_invoice`` proration invoice — if one applies
    (`application`); a `once` discount is used up by it, an expired `repeating` one is ended."""
    current = await current_discount(session, subscription.id, for_update=True)
    if current is None:
        return None
    discount, coupon = current
    applied = application(discount, coupon, subtotal=subtotal, period_start=period_start)
    if applied.ends_at is not None:
        discount.ended_at = applied.ends_at
    return AppliedDiscount(discount, coupon, applied.amount) if applied.applies else None
