"""Errors of reconciliation's operator range (``cyphera reconcile``)."""

from __future__ import annotations

from cyphera.exceptions import InvalidRequest


class ReconciliationRangeInvalid(InvalidRequest):
    """A range that holds no block reconciliation may read (after the safe head, or empty)."""

    code = "reconciliation_range_invalid"
