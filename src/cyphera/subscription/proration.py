"""Prorations of a price change, in integer cents with one explicit rounding rule.

A change at instant ``t`` inside the period ``[start, end)`` gives two lines:

* a credit for the unused time of the old price: ``-old × (end - t) / (end - start)``
* a charge for the remaining time of the new price: ``new × (end - t) / (end - start)``

Time is counted in whole seconds. Each line is **floored** (rounded toward minus infinity): a
charge is rounded down and a credit is rounded up in size, so every rounding is in the customer's
favour, by less than one cent per line, and the lines add up exactly to the total shown.

A change to another interval (`unused_time_credit`) restarts the schedule at ``t`` and invoices the
new price's first full period at once, so only the credit line applies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class ProrationBehavior(enum.StrEnum):
    CREATE_PRORATIONS = "create_prorations"  # the net proration goes on the next invoice
    NONE = "none"  # no proration: the new price applies from the next period
    ALWAYS_INVOICE = "always_invoice"  # a net charge is invoiced and collected at once


@dataclass(frozen=True, slots=True)
class ProrationLine:
    description: str
    amount: int  # cents; negative is a credit
    price_id: str
    period_start: datetime
    period_end: datetime


def prorate(amount: int, *, remaining_seconds: int, period_seconds: int) -> int:
    """`amount` × remaining / period, floored: in the customer's favour whatever the sign."""
    if period_seconds <= 0:
        raise ValueError("period_seconds must be positive")
    remaining = min(max(remaining_seconds, 0), period_seconds)
    return (amount * remaining) // period_seconds


def lines_for_change(
    *,
    old_amount: int,
    new_amount: int,
    old_price_id: str,
    new_price_id: str,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
) -> list[ProrationLine]:
    """The two proration lines of changing from `old_amount` to `new_amount` (per period) at `at`."""
    credit = unused_time_credit(
        old_amount=old_amount,
        old_price_id=old_price_id,
        period_start=period_start,
        period_end=period_end,
        at=at,
    )
    if not credit:
        return []
    period_seconds = int((period_end - period_start).total_seconds())
    remaining_seconds = int((period_end - at).total_seconds())
    return [
        *credit,
        ProrationLine(
            description="Remaining time on the new price",
            amount=prorate(
                new_amount, remaining_seconds=remaining_seconds, period_seconds=period_seconds
            ),
            price_id=new_price_id,
            period_start=at,
            period_end=period_end,
        ),
    ]


def unused_time_credit(
    *,
    old_amount: int,
    old_price_id: str,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
) -> list[ProrationLine]:
    """The credit for the unused time of the old price (`old_amount` per period) when a change at
    `at` ends the period ``[period_start, period_end)`` early — a change of interval re-anchors
    the schedule at `at`. One line, floored like every line (the credit is rounded up in size);
    none when no time is left."""
    period_seconds = int((period_end - period_start).total_seconds())
    remaining_seconds = int((period_end - at).total_seconds())
    if remaining_seconds <= 0:
        return []
    return [
        ProrationLine(
            description="Unused time on the previous price",
            amount=prorate(
                -old_amount, remaining_seconds=remaining_seconds, period_seconds=period_seconds
            ),
            price_id=old_price_id,
            period_start=at,
            period_end=period_end,
        )
    ]


def apply_balance(amount: int, balance: int) -> tuple[int, int]:
    """An invoice of `amount` with the pending `balance` applied: (amount due, balance left).

    A positive balance is added; a credit is taken off, never below zero, and what is left of it
    carries over to the next invoice.
    """
    total = amount + balance
    return max(total, 0), min(total, 0)
