"""Prorations of a price change, in integer cents with one explicit rounding rule.

A change at instant ``t`` inside the period ``[start, end)`` gives two lines:

* a credit for the unused time of the old price: ``-old × (end - t) / (end - start)``
* a charge for the remaining time of the new price: ``new × (end - t) / (end - start)``

Time is counted in whole seconds. Each line is **floored** (rounded toward minus infinity): a
charge is rounded down and a credit is rounded up in size, so every rounding is in the customer's
favour, by less than one cent per line, and the lines add up exactly to the total shown.

Here ``old`` and ``new`` are amounts per period, unit price × quantity: a change of quantity
(seats) is prorated exactly as a change of price, and both can change at once.

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


def _what(price_id: str, other_price_id: str, quantity: int, *, previous: bool) -> str:
    """What a line is for: "the new price", "3 × the previous price", or — the price staying
    the same — "the new quantity (3)"."""
    age = "previous" if previous else "new"
    if price_id == other_price_id:
        return f"the {age} quantity ({quantity})"
    return f"the {age} price" if quantity == 1 else f"{quantity} × the {age} price"


def lines_for_change(
    *,
    old_amount: int,
    new_amount: int,
    old_price_id: str,
    new_price_id: str,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    old_quantity: int = 1,
    new_quantity: int = 1,
) -> list[ProrationLine]:
    """The two proration lines of changing from `old_amount` to `new_amount` (per period: unit
    price × quantity) at `at`; the quantities only go into the lines' descriptions."""
    credit = unused_time_credit(
        old_amount=old_amount,
        old_price_id=old_price_id,
        period_start=period_start,
        period_end=period_end,
        at=at,
        old_quantity=old_quantity,
        new_price_id=new_price_id,
    )
    if not credit:
        return []
    period_seconds = int((period_end - period_start).total_seconds())
    remaining_seconds = int((period_end - at).total_seconds())
    return [
        *credit,
        ProrationLine(
            description="Remaining time on "
            + _what(new_price_id, old_price_id, new_quantity, previous=False),
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
    old_quantity: int = 1,
    new_price_id: str | None = None,
) -> list[ProrationLine]:
    """The credit for the unused time of the old price (`old_amount` per period) when a change at
    `at` ends the period ``[period_start, period_end)`` early — a change of interval re-anchors
    the schedule at `at`. One line, floored like every line (the credit is rounded up in size);
    none when no time is left. `old_quantity` and `new_price_id` (None: another price) only go
    into the description."""
    period_seconds = int((period_end - period_start).total_seconds())
    remaining_seconds = int((period_end - at).total_seconds())
    if remaining_seconds <= 0:
        return []
    return [
        ProrationLine(
            description="Unused time on "
            + _what(old_price_id, new_price_id or "", old_quantity, previous=True),
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
