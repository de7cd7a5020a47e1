"""The billing calendar against the enforcer's fixed windows (DELEGATION.md, "Traps").

Properties over ten years of anchors, every interval and count, leap years and month ends:
no two due dates share an on-chain window (so no scheduled charge is refused for the cap), a retry
never reaches into another period's window, and the permission allows at most one extra transfer
per year of calendar billing compared with what the plan takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyphera.kit.periods import (
    MAX_INTERVAL_COUNT,
    START_SKEW,
    Interval,
    add_months,
    onchain_window_index,
    period_start,
    retry_deadline,
    window_seconds,
)

anchors = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds with timezones=
    max_value=datetime(2034, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))


@st.composite
def plans(draw: st.DrawFn) -> tuple[Interval, int]:
    interval = draw(st.sampled_from(list(Interval)))
    count = draw(st.integers(min_value=1, max_value=min(MAX_INTERVAL_COUNT[interval], 14)))
    return interval, count


def test_month_end_anchor_clamps_and_returns() -> None:
    anchor = datetime(2025, 1, 31, 12, tzinfo=UTC)
    dates = [period_start(anchor, Interval.MONTH, 1, n) for n in range(4)]
    assert [d.date().isoformat() for d in dates] == [
        "2025-01-31",
        "2025-02-28",
        "2025-03-31",
        "2025-04-30",
    ]


def test_leap_day_anchor_yearly() -> None:
    anchor = datetime(2024, 2, 29, tzinfo=UTC)
    assert period_start(anchor, Interval.YEAR, 1, 1).date().isoformat() == "2025-02-28"
    assert period_start(anchor, Interval.YEAR, 1, 4).date().isoformat() == "2028-02-29"


def test_jan_30_start_bills_feb_29_in_leap_year() -> None:
    # getlago/lago-api#1840: a Jan 30 start billed wrongly around Feb 29.
    anchor = datetime(2028, 1, 30, tzinfo=UTC)
    assert period_start(anchor, Interval.MONTH, 1, 1).date().isoformat() == "2028-02-29"
    assert period_start(anchor, Interval.MONTH, 1, 2).date().isoformat() == "2028-03-30"


@pytest.mark.parametrize(
    ("interval", "count", "days"),
    [
        (Interval.DAY, 1, 1),
        (Interval.DAY, 30, 30),
        (Interval.WEEK, 1, 7),
        (Interval.WEEK, 2, 14),
        (Interval.MONTH, 1, 28),
        (Interval.MONTH, 2, 59),
        (Interval.MONTH, 3, 89),
        (Interval.MONTH, 6, 181),
        (Interval.MONTH, 12, 365),
        (Interval.YEAR, 1, 365),
    ],
)
def test_window_is_the_shortest_gap(interval: Interval, count: int, days: int) -> None:
    assert window_seconds(interval, count) == days * 86_400


def test_window_refuses_counts_stripe_refuses() -> None:
    with pytest.raises(ValueError, match="interval_count"):
        window_seconds(Interval.YEAR, 2)
    with pytest.raises(ValueError, match="interval_count"):
        window_seconds(Interval.MONTH, 0)


@settings(max_examples=400, deadline=None)
@given(anchor=anchors, plan=plans(), delay=st.integers(min_value=0, max_value=3600 * 24 * 30))
def test_every_due_date_has_a_window_of_its_own(
    anchor: datetime, plan: tuple[Interval, int], delay: int
) -> None:
    interval, count = plan
    # The permission is signed before the subscription starts (checkout), up to a session's life.
    start = anchor - START_SKEW - timedelta(seconds=delay % 86_400)
    width = window_seconds(interval, count)
    horizon = anchor + timedelta(days=3650)
    seen: set[int] = set()
    n = 0
    while (due := period_start(anchor, interval, count, n)) < horizon:
        window = onchain_window_index(start, width, due)
        assert window not in seen, f"period {n} due {due} shares window {window}"
        seen.add(window)
        deadline = retry_deadline(anchor, interval, count, n, start)
        assert due < deadline <= period_start(anchor, interval, count, n + 1)
        # The last instant a retry may happen is still in the due date's window.
        assert onchain_window_index(start, width, deadline - timedelta(seconds=1)) == window
        n += 1


@settings(max_examples=200, deadline=None)
@given(anchor=anchors, plan=plans())
def test_permission_slack_is_bounded(anchor: datetime, plan: tuple[Interval, int]) -> None:
    """Over any year the enforcer's windows allow at most one more transfer than the plan takes
    (day and week plans: none more)."""
    interval, count = plan
    width = window_seconds(interval, count)
    year = timedelta(days=366)
    due_in_year = 0
    while period_start(anchor, interval, count, due_in_year) < anchor + year:
        due_in_year += 1
    windows_in_year = -(-int(year.total_seconds()) // width)
    slack = windows_in_year - due_in_year
    if interval in (Interval.DAY, Interval.WEEK):
        assert slack <= 1  # only the partial window at the year's edge
    else:
        assert slack <= 2
        assert width * due_in_year <= int(year.total_seconds()) + width


def test_add_months_handles_negative_and_year_wrap() -> None:
    assert add_months(datetime(2025, 11, 30, tzinfo=UTC), 3).date().isoformat() == "2026-02-28"
    assert add_months(datetime(2025, 3, 31, tzinfo=UTC), -1).date().isoformat() == "2025-02-28"
