"""The dashboard's figures, in SQL, in integer cents, for one workspace and mode (`scoped`).

- **MRR** (`mrr_cents`): every subscription that is ``active`` or ``past_due`` counts its price
  × quantity normalised to a month, each subscription rounded down to a cent: a month is the
  amount ÷ interval count; a year ÷ 12; a week × 52 ÷ 12; a day × 365 ÷ 12. Trials and paused
  subscriptions are not revenue yet (Stripe's rule); discounts are not taken off (yet).
- **New and churned MRR** over a window (`movement`): subscriptions whose billing started in
  it and are still counted, and those that ended in it (their MRR when they ended); expansion and
  contraction, the monthly difference of each price or quantity change made in it (from the
  ``subscription.updated`` events that record the old and new values).
- **Revenue per day** (`revenue_by_day`): paid invoices' ``amount_paid`` by the day they were
  paid (UTC), per network and token of the payment that paid them.
- **Failed and recovered** (`payment_outcomes`): invoices of periods starting in the window that
  had a failed payment, and how many of those were paid in the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cyphera.auth.scope import Scope, scoped
from cyphera.kit.periods import Interval
from cyphera.models import Event, Invoice, Payment, Price, Subscription
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus

S = SubscriptionStatus
COUNTED = (S.ACTIVE, S.PAST_DUE)


def _monthly_cents(
    price: type[Price] = Price, quantity: ColumnElement[int] | None = None
) -> ColumnElement[int]:
    """A price × quantity (a subscription's by default) normalised to a month, in whole cents
    (rounded down)."""
    amount = price.unit_amount * (Subscription.quantity if quantity is None else quantity)
    count = func.coalesce(price.recurring_interval_count, 1)
    return case(
        (price.recurring_interval == Interval.MONTH, amount // count),
        (price.recurring_interval == Interval.YEAR, amount // (12 * count)),
        (price.recurring_interval == Interval.WEEK, amount * 52 // (12 * count)),
        (price.recurring_interval == Interval.DAY, amount * 365 // (12 * count)),
        else_=0,
    )


async def mrr_cents(session: AsyncSession, *, scope: Scope) -> int:
    statement = scoped(
        select(func.coalesce(func.sum(_monthly_cents()), 0))
        .select_from(Subscription)
        .join(Price, Price.id == Subscription.price_id)
        .where(Subscription.status.in_(COUNTED)),
        scope,
    )
    return int(await session.scalar(statement) or 0)


@dataclass(frozen=True, slots=True)
class Counts:
    active: int
    trialing: int
    past_due: int
    canceled: int


async def subscription_counts(session: AsyncSession, *, scope: Scope) -> Counts:
    rows = await session.execute(
        scoped(select(Subscription.status, func.count()).group_by(Subscription.status), scope)
    )
    by_status = {status: int(n) for status, n in rows}
    return Counts(
        active=by_status.get(S.ACTIVE, 0),
        trialing=by_status.get(S.TRIALING, 0),
        past_due=by_status.get(S.PAST_DUE, 0),
        canceled=by_status.get(S.CANCELED, 0),
    )


@dataclass(frozen=True, slots=True)
class Movement:
    new_cents: int
    churned_cents: int
    expansion_cents: int = 0
    contraction_cents: int = 0


async def movement(
    session: AsyncSession, *, scope: Scope, since: datetime, until: datetime
) -> Movement:
    """New MRR (started in [since, until), still counted) and churned MRR (ended in it)."""
    monthly = _monthly_cents()
    started = and_(
        Subscription.billing_anchor >= since,
        Subscription.billing_anchor < until,
        Subscription.status.in_(COUNTED),
    )
    ended = and_(
        Subscription.ended_at.is_not(None),
        Subscription.ended_at >= since,
        Subscription.ended_at < until,
    )
    statement = scoped(
        select(
            func.coalesce(func.sum(case((started, monthly), else_=0)), 0),
            func.coalesce(func.sum(case((ended, monthly), else_=0)), 0),
        )
        .select_from(Subscription)
        .join(Price, Price.id == Subscription.price_id),
        scope,
    )
    new, churned = (await session.execute(statement)).one()
    expansion, contraction = await _changes(session, scope=scope, since=since, until=until)
    return Movement(
        new_cents=int(new),
        churned_cents=int(churned),
        expansion_cents=expansion,
        contraction_cents=contraction,
    )


async def _changes(
    session: AsyncSession, *, scope: Scope, since: datetime, until: datetime
) -> tuple[int, int]:
    """Expansion and contraction: price and quantity changes made in [since, until), from the
    ``subscription.updated`` events that record them (new values in the data, old ones in
    ``previous_attributes``), each change's monthly difference counted once."""
    previous = Event.data["previous_attributes"]
    new_price, old_price = aliased(Price), aliased(Price)
    new_quantity = Event.data["quantity"].as_integer()
    old_quantity = func.coalesce(previous["quantity"].as_integer(), new_quantity)
    delta = _monthly_cents(new_price, new_quantity) - _monthly_cents(old_price, old_quantity)
    statement = scoped(
        select(
            func.coalesce(func.sum(case((delta > 0, delta), else_=0)), 0),
            func.coalesce(func.sum(case((delta < 0, -delta), else_=0)), 0),
        )
        .select_from(Event)
        .join(new_price, new_price.id == Event.data["price"].as_string())
        .join(
            old_price,
            old_price.id
            == func.coalesce(previous["price"].as_string(), Event.data["price"].as_string()),
        )
        .where(
            Event.type == "subscription.updated",
            or_(previous.has_key("price"), previous.has_key("quantity")),
            Event.created_at >= since,
            Event.created_at < until,
        ),
        scope,
    )
    expansion, contraction = (await session.execute(statement)).one()
    return int(expansion), int(contraction)


@dataclass(frozen=True, slots=True)
class RevenueDay:
    day: date
    network: str
    token_address: str
    amount_cents: int
    invoices: int


async def revenue_by_day(
    session: AsyncSession, *, scope: Scope, since: datetime, until: datetime
) -> list[RevenueDay]:
    day = func.date(func.timezone("UTC", Invoice.paid_at))
    statement = scoped(
        select(
            day,
            Payment.network,
            Payment.token_address,
            func.sum(Invoice.amount_paid),
            func.count(Invoice.id.distinct()),
        )
        .select_from(Invoice)
        .join(Payment, Payment.invoice_id == Invoice.id)
        .where(
            Payment.status == PaymentStatus.SUCCEEDED,
            Invoice.paid_at >= since,
            Invoice.paid_at < until,
        )
        .group_by(day, Payment.network, Payment.token_address)
        .order_by(day, Payment.network, Payment.token_address),
        scope,
    )
    return [
        RevenueDay(day=d, network=n, token_address=t, amount_cents=int(a), invoices=int(c))
        for d, n, t, a, c in (await session.execute(statement))
    ]


@dataclass(frozen=True, slots=True)
class Outcomes:
    failed: int
    recovered: int


async def payment_outcomes(
    session: AsyncSession, *, scope: Scope, since: datetime, until: datetime
) -> Outcomes:
    """Invoices of periods starting in [since, until) that had a failed payment, and how many
    of those were paid in the end (by a retry, or a new permission)."""
    failed = select(Payment.invoice_id).where(Payment.status == PaymentStatus.FAILED).distinct()
    statement = scoped(
        select(
            func.count(Invoice.id),
            func.count(Invoice.id).filter(Invoice.paid_at.is_not(None)),
        ).where(
            Invoice.id.in_(scoped(failed, scope)),
            Invoice.period_start >= since,
            Invoice.period_start < until,
        ),
        scope,
    )
    total, recovered = (await session.execute(statement)).one()
    return Outcomes(failed=int(total), recovered=int(recovered))
