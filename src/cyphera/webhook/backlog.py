"""The delivery backlog across all workspaces, for operators' metrics (`cyphera.worker.metrics`).

Platform-wide on purpose (no tenant scope): how far behind the dispatchers are, not whose
deliveries wait. Reads the partial indexes the dispatcher itself uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.models import WebhookDelivery
from cyphera.models.webhook_delivery import WebhookDeliveryStatus


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int  # not yet delivered nor given up: due now, waiting for a retry, or in flight
    in_flight: int  # leased by a dispatcher: being sent right now
    oldest_due_seconds: float  # how long the longest-waiting due delivery has been due; 0 if none


async def backlog(session: AsyncSession, *, now: datetime) -> Backlog:
    pending = WebhookDelivery.status == WebhookDeliveryStatus.PENDING
    leased = WebhookDelivery.leased_until > now
    row = (
        await session.execute(
            select(
                func.count().filter(pending),
                func.count().filter(leased),
                func.min(WebhookDelivery.next_attempt_at).filter(
                    pending,
                    WebhookDelivery.next_attempt_at <= now,
                    or_(WebhookDelivery.leased_until.is_(None), ~leased),
                ),
            ).where(or_(pending, leased))
        )
    ).one()
    oldest_due: datetime | None = row[2]
    return Backlog(
        pending=int(row[0]),
        in_flight=int(row[1]),
        oldest_due_seconds=0.0 if oldest_due is None else (now - oldest_due).total_seconds(),
    )
