"""From events to deliveries: each new event, once, to every endpoint that subscribes to it.

Events are written in the transactions that make the changes they describe (the outbox). The
fan-out takes the oldest events not yet fanned out (``fanned_out_at IS NULL``, a partial index),
locking them with ``SKIP LOCKED`` so several workers share the work without doing it twice,
makes one `WebhookDelivery` per event and enabled endpoint of its workspace and mode whose
``enabled_events`` holds its type or ``*``, and marks the events — all in one transaction.
An event committed late (by a transaction that began earlier) is simply found on a later pass:
nothing is skipped, as a cursor over the event sequence could.

An endpoint only receives events written after it was created (or re-enabled), as with Stripe.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.kit.ids import new_id
from cyphera.models import Event, WebhookDelivery, WebhookEndpoint
from cyphera.models.mixins import Mode
from cyphera.models.webhook_delivery import WebhookDeliveryStatus
from cyphera.models.webhook_endpoint import WebhookEndpointStatus
from cyphera.webhook.events import ALL_EVENTS

DELIVERY_ID_PREFIX = "msg"
BATCH = 500


async def fan_out(session: AsyncSession, *, now: datetime, limit: int = BATCH) -> int:
    """Fan out up to `limit` of the oldest new events; how many events were taken."""
    events = (
        await session.execute(
            select(Event.id, Event.workspace_id, Event.mode, Event.type)
            .where(Event.fanned_out_at.is_(None))
            .order_by(Event.sequence)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not events:
        return 0
    endpoints = await _subscribers(session, {(e.workspace_id, e.mode) for e in events})
    rows = [
        new_delivery(event_id=event.id, endpoint=endpoint, now=now)
        for event in events
        for endpoint in endpoints.get((event.workspace_id, event.mode), ())
        if subscribes(endpoint, event.type)
    ]
    if rows:
        await session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing())
    await session.execute(
        update(Event).where(Event.id.in_([e.id for e in events])).values(fanned_out_at=now)
    )
    return len(events)


async def _subscribers(
    session: AsyncSession, tenants: set[tuple[str, Mode]]
) -> dict[tuple[str, Mode], list[WebhookEndpoint]]:
    found = await session.scalars(
        select(WebhookEndpoint).where(
            tuple_(WebhookEndpoint.workspace_id, WebhookEndpoint.mode).in_(tenants),
            WebhookEndpoint.status == WebhookEndpointStatus.ENABLED,
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    by_tenant: dict[tuple[str, Mode], list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in found:
        by_tenant[(endpoint.workspace_id, endpoint.mode)].append(endpoint)
    return by_tenant


def subscribes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    """Whether `endpoint` asked for events of `event_type`."""
    return ALL_EVENTS in endpoint.enabled_events or event_type in endpoint.enabled_events


def new_delivery(*, event_id: str, endpoint: WebhookEndpoint, now: datetime) -> dict[str, object]:
    """The row of a new delivery of `event_id` to `endpoint`, due at `now`."""
    return {
        "id": new_id(DELIVERY_ID_PREFIX),
        "workspace_id": endpoint.workspace_id,
        "mode": endpoint.mode,
        "endpoint_id": endpoint.id,
        "event_id": event_id,
        "status": WebhookDeliveryStatus.PENDING,
        "attempt_count": 0,
        "window_attempts": 0,
        "window_started_at": now,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
