"""``/v1/webhook_endpoints/{id}/deliveries`` and ``/v1/events/{id}/resend``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.kit.pagination import ListObject
from cyphera.models import WebhookDelivery as DeliveryModel
from cyphera.webhook import deliveries
from cyphera.webhook.delivery_schemas import (
    DeliveryListParams,
    EventResend,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryWithAttempts,
)
from cyphera.webhook.endpoints import ONE, EndpointId

router = APIRouter(tags=["Webhook endpoints"])

DELIVERIES = ONE + "/deliveries"
DELIVERY = DELIVERIES + "/{delivery_id}"
DeliveryId = Annotated[str, Path(max_length=100)]


@router.get(
    DELIVERIES,
    summary="List an endpoint's deliveries",
    description="Newest first, each with its latest attempt and when it is tried next.",
)
async def list_webhook_deliveries(
    webhook_endpoint_id: EndpointId,
    params: Annotated[DeliveryListParams, Query()],
    auth: AuthDep,
    session: SessionDep,
) -> ListObject[WebhookDelivery]:
    page = await deliveries.list_deliveries(
        session,
        scope=auth.scope,
        endpoint_id=webhook_endpoint_id,
        page=params.page_request(),
        status=params.status,
    )
    return ListObject[WebhookDelivery](
        data=await _shown(session, page.items),
        has_more=page.has_more,
        url=DELIVERIES.format(webhook_endpoint_id=webhook_endpoint_id),
    )


@router.get(DELIVERY, summary="Retrieve a delivery with its attempts")
async def get_webhook_delivery(
    webhook_endpoint_id: EndpointId, delivery_id: DeliveryId, auth: AuthDep, session: SessionDep
) -> WebhookDeliveryWithAttempts:
    delivery = await deliveries.get_delivery(
        session, scope=auth.scope, endpoint_id=webhook_endpoint_id, delivery_id=delivery_id
    )
    return await _with_attempts(session, delivery)


@router.post(
    DELIVERY + "/retry",
    summary="Retry a delivery",
    description="Sends the delivery again now, with the same `webhook-id`, in a new three-day "
    "retry window; `409 webhook_delivery_in_progress` while an attempt is under way.",
)
async def retry_webhook_delivery(
    webhook_endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
) -> WebhookDeliveryWithAttempts:
    delivery = await deliveries.retry_delivery(
        session,
        scope=auth.scope,
        endpoint_id=webhook_endpoint_id,
        delivery_id=delivery_id,
        clock=clock,
    )
    return await _with_attempts(session, delivery)


@router.post(
    "/v1/events/{event_id}/resend",
    summary="Resend an event",
    description="Sends the event again to one endpoint, or to every enabled endpoint that "
    "subscribes to its type; an endpoint that had it gets the same delivery (same "
    "`webhook-id`) again.",
    tags=["Events"],
)
async def resend_event(
    event_id: Annotated[str, Path(max_length=100)],
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[EventResend | None, Body()] = None,
) -> ListObject[WebhookDelivery]:
    sent = await deliveries.resend_event(
        session,
        scope=auth.scope,
        event_id=event_id,
        endpoint_id=(body or EventResend()).webhook_endpoint,
        clock=clock,
    )
    return ListObject[WebhookDelivery](
        data=await _shown(session, sent), has_more=False, url=f"/v1/events/{event_id}/resend"
    )


async def _shown(session: AsyncSession, items: list[DeliveryModel]) -> list[WebhookDelivery]:
    types = await deliveries.event_types(session, items)
    latest = await deliveries.latest_attempts(session, [d.id for d in items])
    return [
        WebhookDelivery.from_model(d, event_type=types[d.event_id], last_attempt=latest.get(d.id))
        for d in items
    ]


async def _with_attempts(
    session: AsyncSession, delivery: DeliveryModel
) -> WebhookDeliveryWithAttempts:
    attempts = await deliveries.attempts_of(session, delivery.id)
    [shown] = await _shown(session, [delivery])
    return WebhookDeliveryWithAttempts(
        **shown.model_dump(), attempts=[WebhookAttempt.from_model(a) for a in attempts]
    )
