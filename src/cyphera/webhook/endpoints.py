"""``/v1/webhook_endpoints``: where a workspace's events are sent, and their signing secrets.

Writes need a secret key: `AuthDep` refuses restricted (read-only) keys on every POST and DELETE.
The audit entry of a write names only the endpoint (`cyphera.auth.audit` keeps the response's
``object`` and ``id``, never its body), so the secret in a create or rotate answer stays out of it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.config import Settings
from cyphera.kit.pagination import ListObject, ListParams
from cyphera.webhook import service
from cyphera.webhook.schemas import (
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookSecretRotation,
)
from cyphera.webhook.secrets import SecretBox

router = APIRouter(tags=["Webhook endpoints"])

ENDPOINTS = "/v1/webhook_endpoints"
ONE = ENDPOINTS + "/{webhook_endpoint_id}"

EndpointId = Annotated[str, Path(max_length=100)]


def get_secret_box(request: Request) -> SecretBox:
    """The box that encrypts signing secrets, keyed from ``settings.encryption_key``."""
    settings: Settings = request.app.state.settings
    return SecretBox(settings.encryption_key.get_secret_value())


SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]


@router.post(
    ENDPOINTS,
    summary="Create a webhook endpoint",
    description="The answer holds the signing secret (`secret`) this once; store it safely.",
)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    box: SecretBoxDep,
) -> WebhookEndpointWithSecret:
    endpoint, secret = await service.create_endpoint(
        session, scope=auth.scope, data=body, box=box, clock=clock
    )
    return WebhookEndpointWithSecret.with_secret(endpoint, secret)


@router.get(ENDPOINTS, summary="List webhook endpoints")
async def list_webhook_endpoints(
    params: Annotated[ListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[WebhookEndpoint]:
    page = await service.list_endpoints(session, scope=auth.scope, page=params.page_request())
    return ListObject[WebhookEndpoint](
        data=[WebhookEndpoint.from_model(e) for e in page.items],
        has_more=page.has_more,
        url=ENDPOINTS,
    )


@router.get(ONE, summary="Retrieve a webhook endpoint")
async def get_webhook_endpoint(
    webhook_endpoint_id: EndpointId, auth: AuthDep, session: SessionDep
) -> WebhookEndpoint:
    endpoint = await service.get_endpoint(
        session, scope=auth.scope, endpoint_id=webhook_endpoint_id
    )
    return WebhookEndpoint.from_model(endpoint)


@router.post(ONE, summary="Update a webhook endpoint")
async def update_webhook_endpoint(
    webhook_endpoint_id: EndpointId,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[WebhookEndpointUpdate | None, Body()] = None,
) -> WebhookEndpoint:
    endpoint = await service.update_endpoint(
        session,
        scope=auth.scope,
        endpoint_id=webhook_endpoint_id,
        data=body or WebhookEndpointUpdate(),
        clock=clock,
    )
    return WebhookEndpoint.from_model(endpoint)


@router.delete(ONE, summary="Delete a webhook endpoint")
async def delete_webhook_endpoint(
    webhook_endpoint_id: EndpointId, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> WebhookEndpointDeleted:
    endpoint = await service.delete_endpoint(
        session, scope=auth.scope, endpoint_id=webhook_endpoint_id, clock=clock
    )
    return WebhookEndpointDeleted(id=endpoint.id)


@router.post(
    ONE + "/rotate_secret",
    summary="Rotate a webhook endpoint's signing secret",
    description="Makes a new signing secret and returns it this once. The previous secret keeps "
    "signing deliveries alongside the new one for `expires_in_seconds` (24 hours by default), "
    "so you can deploy the new one without missing a delivery.",
)
async def rotate_webhook_endpoint_secret(
    webhook_endpoint_id: EndpointId,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    box: SecretBoxDep,
    body: Annotated[WebhookSecretRotation | None, Body()] = None,
) -> WebhookEndpointWithSecret:
    rotation = body or WebhookSecretRotation()
    endpoint, secret = await service.rotate_secret(
        session,
        scope=auth.scope,
        endpoint_id=webhook_endpoint_id,
        overlap=timedelta(seconds=rotation.expires_in_seconds),
        box=box,
        clock=clock,
    )
    return WebhookEndpointWithSecret.with_secret(endpoint, secret)
