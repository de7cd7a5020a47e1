"""The charge counter: ``cyphera_charges_total{network,outcome,code}``, one per collection run.

``outcome`` is the payment's state once the signer answered: ``succeeded`` (confirmed at the
network's depth), ``failed`` (proven not to have moved funds; ``code`` is the stable failure code:
``insufficient_balance``, ``permission_revoked``, ``subscription_canceled``, …) or ``pending``
(broadcast or queued, not final yet: collected again shortly, so one payment may count ``pending``
several times before its final outcome). ``code`` is empty unless failed. No id is a label.

Counted in the process that collects (the worker; the API for a checkout's first charge, which
it collects inline), only once the transaction that records the outcome commits.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.models.payment import Payment, PaymentStatus

CHARGES = Counter(
    "cyphera_charges",
    "Charge collections by network and outcome (succeeded, failed with its code, pending).",
    ["network", "outcome", "code"],
)


def count_outcome(session: AsyncSession, payment: Payment) -> None:
    """Count `payment`'s state as a collection's outcome when `session` commits (never if it
    rolls back: the outcome did not happen as far as the books know)."""
    match payment.status:
        case PaymentStatus.SUCCEEDED:
            labels = (payment.network, "succeeded", "")
        case PaymentStatus.FAILED:
            labels = (payment.network, "failed", payment.failure_code or "unknown")
        case _:
            labels = (payment.network, "pending", "")

    def committed(_session: Any) -> None:
        CHARGES.labels(*labels).inc()

    event.listen(session.sync_session, "after_commit", committed, once=True)
