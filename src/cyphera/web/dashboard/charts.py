"""Server-drawn SVG charts: no script, so the strict CSP stands, and the figures are in the HTML.

`daily_bars` turns the SQL's revenue per day (`cyphera.analytics.service.revenue_by_day`) into
one bar per day of the window, with the day and amount each bar stands for; the template draws
them as ``<rect>`` elements (presentation attributes, no inline style) with a table of the same
figures for screen readers and for the tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cyphera.analytics.service import RevenueDay
from cyphera.kit.money import format_cents

WIDTH = 600
HEIGHT = 160
GAP = 2


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    day: str
    amount: str
    cents: int


def daily_bars(rows: Sequence[RevenueDay], *, first: date, days: int) -> list[Bar]:
    totals: dict[date, int] = defaultdict(int)
    for row in rows:
        totals[row.day] += row.amount_cents
    top = max(totals.values(), default=0)
    width = WIDTH // days
    bars = []
    for i in range(days):
        day = first + timedelta(days=i)
        cents = totals.get(day, 0)
        height = 0 if top == 0 else max(1, cents * (HEIGHT - 10) // top) if cents else 0
        bars.append(
            Bar(
                x=i * width,
                y=HEIGHT - height,
                width=width - GAP,
                height=height,
                day=day.isoformat(),
                amount=format_cents(cents),
                cents=cents,
            )
        )
    return bars
