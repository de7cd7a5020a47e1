"""What merchants see and do with deliveries: list them per endpoint, retry one, resend an event.

A retry (or a resend of an event the endpoint already had) re-queues the *same* delivery: same
``webhook-id``, so a receiver that processed it already can tell; it is due at once and gets a
new retry window. Only enabled endpoints are sent to, and never the delivery being sent right
now (its attempt decides first).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import get_scoped, list_scoped
from cyphera.auth.scope import Scope, scoped
from cyphera.exceptions import NotFound
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models import Event, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from cyphera.models.webhook_delivery import WebhookDeliveryStatus
from cyphera.models.webhook_endpoint import WebhookEndpointStatus
from cyphera.webhook.errors import DeliveryInProgress, EndpointDisabled, EventNotEnabled
from cyphera.webhook.fanout import DELIVERY_ID_PREFIX, new_delivery, subscribes
from cyphera.webhook.service import get_endpoint

MAX_ATTEMPTS_SHOWN = 100


async def list_deliveries(
    session: AsyncSession,
    *,
    scope: Scope,
    endpoint_id: str,
    page: PageRequest,
    status: WebhookDeliveryStatus | None = None,
) -> Page[WebhookDelivery]:
    """The endpoint's deliveries, newest first (optionally of one status)."""
    await get_endpoint(session, scope=scope, endpoint_id=endpoint_id)
    filters = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        filters.append(WebhookDelivery.status == status)
    return await list_scoped(session, WebhookDelivery, scope, page, *filters)


async def get_delivery(
    session: AsyncSession, *, scope: Scope, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """The delivery `delivery_id` of the scope's endpoint `endpoint_id` (found only under it)."""
    await get_endpoint(session, scope=scope, endpoint_id=endpoint_id)
    delivery = None
    if has_prefix(delivery_id, DELIVERY_ID_PREFIX):
        delivery = await session.scalar(
            scoped(select(WebhookDelivery), scope).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
            )
        )
    if delivery is None:
        raise NotFound(f"No such webhook delivery: {delivery_id!r}", param="id")
    return delivery


async def attempts_of(session: AsyncSession, delivery_id: str) -> list[WebhookDeliveryAttempt]:
    """The delivery's attempts, newest first (the latest `MAX_ATTEMPTS_SHOWN`)."""
    found = await session.scalars(
        select(WebhookDeliveryAttempt)
        .where(WebhookDeliveryAttempt.delivery_id == delivery_id)
        .order_by(WebhookDeliveryAttempt.number.desc(), WebhookDeliveryAttempt.id.desc())
        .limit(MAX_ATTEMPTS_SHOWN)
    )
    return list(found)


async def event_types(session: AsyncSession, deliveries: list[WebhookDelivery]) -> dict[str, str]:
    """The type of each delivery's event, by event id."""
    rows = await session.execute(
        select(Event.id, Event.type).where(Event.id.in_({d.event_id for d in deliveries}))
    )
    return dict(rows.all())


async def retry_delivery(
    session: AsyncSession, *, scope: Scope, endpoint_id: str, delivery_id: str, clock: Clock
) -> WebhookDelivery:
    """Send the delivery again now (whatever became of it), in a new retry window."""
    endpoint = await get_endpoint(session, scope=scope, endpoint_id=endpoint_id, for_update=True)
    _check_enabled(endpoint)
    delivery = await get_delivery(
        session, scope=scope, endpoint_id=endpoint_id, delivery_id=delivery_id
    )
    await session.refresh(delivery, with_for_update=True)
    _requeue(delivery, now=clock.now())
    await session.flush()
    return delivery


async def resend_event(
    session: AsyncSession,
    *,
    scope: Scope,
    event_id: str,
    endpoint_id: str | None,
    clock: Clock,
) -> list[WebhookDelivery]:
    """Send the event again to `endpoint_id`, or to every enabled endpoint subscribing to it."""
    event = await get_scoped(session, Event, event_id, scope)
    if endpoint_id is not None:
        endpoint = await get_endpoint(
            session, scope=scope, endpoint_id=endpoint_id, for_update=True
        )
        _check_enabled(endpoint)
        if not subscribes(endpoint, event.type):
            raise EventNotEnabled(
                f"{endpoint.id} does not subscribe to {event.type!r}: add it to its "
                "enabled_events first.",
                param="webhook_endpoint",
            )
        endpoints = [endpoint]
    else:
        endpoints = [
            e
            for e in await session.scalars(
                scoped(select(WebhookEndpoint), scope)
                .where(
                    WebhookEndpoint.status == WebhookEndpointStatus.ENABLED,
                    WebhookEndpoint.deleted_at.is_(None),
                )
                .order_by(WebhookEndpoint.id)
                .with_for_update()
            )
            if subscribes(e, event.type)
        ]
    now = clock.now()
    if endpoints:
        await session.execute(
            insert(WebhookDelivery)
            .values([new_delivery(event_id=event.id, endpoint=e, now=now) for e in endpoints])
            .on_conflict_do_nothing()
        )
    deliveries = list(
        await session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.event_id == event.id,
                WebhookDelivery.endpoint_id.in_([e.id for e in endpoints]),
            )
            .order_by(WebhookDelivery.endpoint_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    for delivery in deliveries:
        if delivery.attempt_count > 0:  # an existing one, not the one just made
            _requeue(delivery, now=now)
    await session.flush()
    return deliveries


def _check_enabled(endpoint: WebhookEndpoint) -> None:
    if endpoint.status is not WebhookEndpointStatus.ENABLED:
        raise EndpointDisabled(
            f"{endpoint.id} is disabled: re-enable it (disabled: false) to send to it again."
        )


def _requeue(delivery: WebhookDelivery, *, now: datetime) -> None:
    if delivery.leased_until is not None and delivery.leased_until > now:
        raise DeliveryInProgress(
            f"{delivery.id} is being sent right now; retry once this attempt is recorded."
        )
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.window_started_at = now
    delivery.window_attempts = 0
    delivery.leased_until = None
    delivery.lease_token = None
    delivery.updated_at = now


async def latest_attempts(
    session: AsyncSession, delivery_ids: list[str]
) -> dict[str, WebhookDeliveryAttempt]:
    """Each delivery's latest attempt (those with none are missing), by delivery id."""
    found = await session.scalars(
        select(WebhookDeliveryAttempt)
        .where(WebhookDeliveryAttempt.delivery_id.in_(delivery_ids))
        .ext(distinct_on(WebhookDeliveryAttempt.delivery_id))
        .order_by(
            WebhookDeliveryAttempt.delivery_id,
            WebhookDeliveryAttempt.number.desc(),
            WebhookDeliveryAttempt.id.desc(),
        )
    )
    return {a.delivery_id: a for a in found}
