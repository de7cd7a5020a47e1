"""How the pages say amounts, intervals, dates and on-chain terms (display only)."""

from __future__ import annotations

from datetime import UTC, datetime

from cyphera.kit.money import format_cents
from cyphera.kit.periods import Interval
from cyphera.models import Price

DAY = 86_400
_UNITS = {
    Interval.DAY: "day",
    Interval.WEEK: "week",
    Interval.MONTH: "month",
    Interval.YEAR: "year",
}


def every(seconds: int) -> str:
    """An on-chain period: ``every 28 days``."""
    if seconds % DAY == 0:
        days = seconds // DAY
        return "every day" if days == 1 else f"every {days} days"
    return f"every {seconds} seconds"


def date(moment: datetime | int) -> str:
    when = moment if isinstance(moment, datetime) else datetime.fromtimestamp(moment, UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d")


def moment(value: datetime | int) -> str:
    when = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_address(address: str) -> str:
    """An address as people compare them: ``0x5aAe…BeAed`` (the full one goes in a title)."""
    return f"{address[:6]}…{address[-5:]}" if len(address) > 14 else address


def terms_sentence(*, amount: str, period: str, payee: str, until: str) -> str:
    """The on-chain terms in one sentence, as the checkout shows them before signing."""
    return f"up to {amount} {period}, only to {payee}, until {until}, revocable at any time"


def price(
    amount_cents: int, currency: str, interval: Interval | None, interval_count: int | None
) -> str:
    """``$19.99 per month``, ``$50.00 every 3 months``, or the amount alone."""
    amount = format_cents(amount_cents, currency)
    if interval is None:
        return amount
    unit = _UNITS[interval]
    if (interval_count or 1) == 1:
        return f"{amount} per {unit}"
    return f"{amount} every {interval_count} {unit}s"


def price_of(stored: Price, quantity: int = 1) -> str:
    """A stored price (× `quantity`) in words: ``$19.99 per month``."""
    return price(
        stored.unit_amount * quantity,
        stored.currency,
        stored.recurring_interval,
        stored.recurring_interval_count,
    )
