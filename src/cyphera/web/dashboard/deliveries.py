"""The dashboard's view of one webhook endpoint: its deliveries, their attempts, retry by hand.

Each delivery shows what the receiver answered (status, the start of its body, or why no answer
came), how many attempts it took and when the next one is due. A member who may change billing
retries a delivery (the same ``webhook-id``, now) and disables or re-enables the endpoint, through
the services the API uses (`cyphera.webhook.deliveries`, `cyphera.webhook.service`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.kit.pagination import PageRequest
from cyphera.models.webhook_delivery import WebhookDeliveryAttempt, WebhookDeliveryStatus
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.frame import frame, next_cursor, pages_of
from cyphera.webhook import deliveries
from cyphera.webhook import service as webhooks
from cyphera.webhook.schemas import WebhookEndpointUpdate

router = APIRouter(include_in_schema=False)

WS = access.PATH + "/{workspace_id}/{mode}"
PAGE_SIZE = 25
_STATUSES = {s.value: s for s in WebhookDeliveryStatus}


@router.get(WS + "/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def dashboard_webhook_endpoint(
    acting: ActingDep,
    endpoint_id: str,
    request: Request,
    session: SessionDep,
    status: str = "",
    starting_after: str | None = None,
    done: str = "",
) -> Response:
    endpoint = await webhooks.get_endpoint(session, scope=acting.scope, endpoint_id=endpoint_id)
    found = await deliveries.list_deliveries(
        session,
        scope=acting.scope,
        endpoint_id=endpoint.id,
        page=PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
        status=_STATUSES.get(status),
    )
    types = await deliveries.event_types(session, found.items)
    latest = await deliveries.latest_attempts(session, [d.id for d in found.items])
    context = await frame(request, session, acting, "webhooks")
    context |= {
        "endpoint": {
            "id": endpoint.id,
            "url": endpoint.url,
            "status": endpoint.status.value,
            "events": endpoint.enabled_events,
        },
        "deliveries": [
            {
                "id": d.id,
                "event": d.event_id,
                "type": types[d.event_id],
                "status": d.status.value,
                "attempts": d.attempt_count,
                "created": words.moment(d.created_at),
                "next": words.moment(d.next_attempt_at) if d.next_attempt_at else None,
                "answer": _answer(latest.get(d.id)),
                "retryable": d.leased_until is None,
            }
            for d in found.items
        ],
        "status": status if status in _STATUSES else "",
        "statuses": list(_STATUSES),
        "next": next_cursor(found),
        "done": done,
    }
    return pages_of(request).render("dashboard/webhook_endpoint.html", context)


@router.post(WS + "/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry")
async def dashboard_retry_delivery(
    acting: ChangingDep,
    endpoint_id: str,
    delivery_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    delivery = await deliveries.retry_delivery(
        session, scope=acting.scope, endpoint_id=endpoint_id, delivery_id=delivery_id, clock=clock
    )
    access.describe(
        request, "webhook_delivery.retried", object_type="webhook_delivery", object_id=delivery.id
    )
    return RedirectResponse(f"{acting.base}/webhooks/{endpoint_id}?done=retried", status_code=303)


@router.post(WS + "/webhooks/{endpoint_id}/disable")
async def dashboard_disable_endpoint(
    acting: ChangingDep, endpoint_id: str, request: Request, session: SessionDep, clock: ClockDep
) -> Response:
    return await _switch(acting, endpoint_id, request, session, clock, disabled=True)


@router.post(WS + "/webhooks/{endpoint_id}/enable")
async def dashboard_enable_endpoint(
    acting: ChangingDep, endpoint_id: str, request: Request, session: SessionDep, clock: ClockDep
) -> Response:
    return await _switch(acting, endpoint_id, request, session, clock, disabled=False)


async def _switch(
    acting: access.Acting,
    endpoint_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    *,
    disabled: bool,
) -> Response:
    endpoint = await webhooks.update_endpoint(
        session,
        scope=acting.scope,
        endpoint_id=endpoint_id,
        data=WebhookEndpointUpdate(disabled=disabled),
        clock=clock,
    )
    done = "disabled" if disabled else "enabled"
    access.describe(
        request, f"webhook_endpoint.{done}", object_type="webhook_endpoint", object_id=endpoint.id
    )
    return RedirectResponse(f"{acting.base}/webhooks/{endpoint_id}?done={done}", status_code=303)


def _answer(attempt: WebhookDeliveryAttempt | None) -> str:
    """What the receiver said last: ``200``, ``503 · upstream down``, or why nothing came."""
    if attempt is None:
        return "not sent yet"
    status, body = attempt.response_status, (attempt.response_body or "").strip()
    if status is None:
        return attempt.error or "no answer"
    if 200 <= status < 300 or not body:
        return str(status)
    return f"{status} · {body[:120]}"
