"""Billing periods, and the on-chain windows that must agree with them.

A subscription's schedule is anchored: period ``n`` starts at ``anchor + n × (interval × count)``,
computed from the anchor each time (never by adding to the previous date), so a subscription
anchored on the 31st bills on the last day of shorter months and returns to the 31st after.

The customer's permission caps transfers with MetaMask's ``ERC20PeriodTransferEnforcer``: fixed
windows of ``period_duration`` seconds from ``start_date``, each allowing ``period_amount``.
Calendar months are 28–31 days long, so the two calendars must be chosen together
(DELEGATION.md, "Traps"). The rule used here:

* the window length is the *shortest* gap that can ever occur between two consecutive due dates
  of the plan (28 days for monthly, 59 for bi-monthly, 365 for yearly; exact for days and weeks);
* the permission starts `START_SKEW` before the anchor, to tolerate chain clocks that lag ours.

Then any two due dates are at least one window apart, so each lands in a window of its own and no
scheduled charge can be refused for the cap. The price of calendar billing is bounded slack: a
monthly plan's windows are 28 days, so over a year the enforcer would allow at most 14 transfers
where the plan takes 12 (never more than one period's amount in any 28-day window). Day and week
plans get windows equal to their period: no slack at all. `retry_deadline` keeps dunning inside
the window of the period being collected, so a late retry can never consume the next period's room.
"""

from __future__ import annotations

import calendar
import enum
from datetime import UTC, datetime, timedelta
from functools import cache

from cyphera.kit.clock import ensure_utc

START_SKEW = timedelta(minutes=15)
DAY = 86_400


class Interval(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` plus `months` calendar months, clamped to the month's last day."""
    anchor = ensure_utc(anchor)
    total = anchor.month - 1 + months
    year, month = anchor.year + total // 12, total % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def period_start(anchor: datetime, interval: Interval, count: int, index: int) -> datetime:
    """Start of period `index` (0 = the first) of a plan billed every `count` × `interval`."""
    if count < 1 or index < 0:
        raise ValueError("count must be >= 1 and index >= 0")
    anchor = ensure_utc(anchor)
    steps = count * index
    match interval:
        case Interval.DAY:
            return anchor + timedelta(days=steps)
        case Interval.WEEK:
            return anchor + timedelta(weeks=steps)
        case Interval.MONTH:
            return add_months(anchor, steps)
        case Interval.YEAR:
            return add_months(anchor, 12 * steps)


MAX_INTERVAL_COUNT = {Interval.DAY: 365, Interval.WEEK: 52, Interval.MONTH: 12, Interval.YEAR: 1}


@cache
def window_seconds(interval: Interval, count: int) -> int:
    """Length of the enforcer's window for this plan: the shortest possible gap between due dates.

    Days and weeks are exact. For months and years the minimum is found by walking every anchor
    day of 2000–2003: with at most a year between due dates, every shape of month sequence a
    calendar can produce (leap February or not, 28–31-day months, clamped anchors on the 29th–31st)
    occurs in those four years, so the walk is exact for any date.
    """
    if not 1 <= count <= MAX_INTERVAL_COUNT[interval]:
        raise ValueError(f"interval_count must be 1..{MAX_INTERVAL_COUNT[interval]} for {interval}")
    if interval is Interval.DAY:
        return DAY * count
    if interval is Interval.WEEK:
        return 7 * DAY * count
    months = count if interval is Interval.MONTH else 12
    first = datetime(2000, 1, 1, tzinfo=UTC)
    return min(
        int((add_months(anchor, months * (n + 1)) - add_months(anchor, months * n)).total_seconds())
        for anchor in (first + timedelta(days=offset) for offset in range(4 * 366))
        for n in range(0, 48 // months + 1)
    )


def retry_deadline(
    anchor: datetime, interval: Interval, count: int, index: int, start_date: datetime
) -> datetime:
    """Last instant (exclusive) at which period `index` may still be charged.

    The earlier of the next period's start and the end of the on-chain window the due date fell
    in: past that, a transfer would draw on room that belongs to another period.
    """
    due = period_start(anchor, interval, count, index)
    next_due = period_start(anchor, interval, count, index + 1)
    width = window_seconds(interval, count)
    elapsed = int((due - ensure_utc(start_date)).total_seconds())
    window_end = ensure_utc(start_date) + timedelta(seconds=(elapsed // width + 1) * width)
    return min(next_due, window_end)


def onchain_window_index(start_date: datetime, width_seconds: int, at: datetime) -> int:
    """The enforcer's period number for a transfer at `at` (1-based, as the contract counts)."""
    elapsed = int((ensure_utc(at) - ensure_utc(start_date)).total_seconds())
    if elapsed < 0:
        raise ValueError("before the permission's start date")
    return elapsed // width_seconds + 1
