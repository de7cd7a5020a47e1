"""Webhook endpoints: create, read, change, delete, and rotate their signing secrets.

An endpoint's signing secret is made here, handed back once (by `create_endpoint` and
`rotate_secret`) and otherwise only ever stored encrypted (`cyphera.webhook.secrets`). Nothing
here logs it or puts it in an event. The delivery worker reads the secrets to sign with through
`signing_secrets`.

Rotation keeps the previous secret signing in parallel for a while (24 hours by default, at most
7 days), so a merchant can deploy the new secret without losing deliveries in between: during
the overlap each delivery carries one signature per secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from cyphera.auth.scope import Scope
from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.metadata import MetadataTooLarge, merge_metadata
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models.webhook_endpoint import WebhookEndpoint, WebhookEndpointStatus
from cyphera.webhook.errors import (
    EventTypeInvalid,
    WebhookEndpointLimit,
    WebhookEndpointMissing,
)
from cyphera.webhook.events import is_known
from cyphera.webhook.repository import WebhookEndpointRepository
from cyphera.webhook.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from cyphera.webhook.secrets import SecretBox, new_signing_secret
from cyphera.webhook.urls import check_url

WEBHOOK_ENDPOINT_ID_PREFIX = "we"
MAX_ENDPOINTS = 16
"""Endpoints per workspace and mode (Stripe allows 16 too)."""

log = structlog.get_logger(__name__)


async def create_endpoint(
    session: AsyncSession,
    *,
    scope: Scope,
    data: WebhookEndpointCreate,
    box: SecretBox,
    clock: Clock,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the scope, and its signing secret (the only time it is returned)."""
    url = check_url(data.url, mode=scope.mode)
    enabled_events = _checked_events(data.enabled_events)
    repository = WebhookEndpointRepository(session)
    await repository.lock_tenant(scope)
    if await repository.count(scope) >= MAX_ENDPOINTS:
        raise WebhookEndpointLimit(
            f"A workspace can have at most {MAX_ENDPOINTS} webhook endpoints per mode; "
            "delete one first."
        )
    now = clock.now()
    endpoint_id = new_id(WEBHOOK_ENDPOINT_ID_PREFIX)
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        **scope.tenant_columns(),
        url=url,
        description=data.description,
        enabled_events=enabled_events,
        status=WebhookEndpointStatus.ENABLED,
        secret_ciphertext=box.encrypt(secret, endpoint_id=endpoint_id),
        metadata_=merge_metadata({}, data.metadata),
        created_at=now,
        updated_at=now,
    )
    repository.add(endpoint)
    await session.flush()
    log.info("webhook_endpoint.created", webhook_endpoint_id=endpoint.id, **_tenant(scope))
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, *, scope: Scope, endpoint_id: str, for_update: bool = False
) -> WebhookEndpoint:
    """The scope's endpoint `endpoint_id` (not deleted), or `WebhookEndpointMissing`."""
    endpoint = None
    if has_prefix(endpoint_id, WEBHOOK_ENDPOINT_ID_PREFIX):
        endpoint = await WebhookEndpointRepository(session).get(
            scope, endpoint_id, for_update=for_update
        )
    if endpoint is None:
        raise WebhookEndpointMissing(f"No such webhook endpoint: {endpoint_id!r}", param="id")
    return endpoint


async def list_endpoints(
    session: AsyncSession, *, scope: Scope, page: PageRequest
) -> Page[WebhookEndpoint]:
    """The scope's endpoints (not deleted), newest first."""
    return await WebhookEndpointRepository(session).list(scope, page=page)


async def update_endpoint(
    session: AsyncSession,
    *,
    scope: Scope,
    endpoint_id: str,
    data: WebhookEndpointUpdate,
    clock: Clock,
) -> WebhookEndpoint:
    """Change the given fields; ``metadata`` is merged, ``disabled`` sets the status."""
    endpoint = await get_endpoint(session, scope=scope, endpoint_id=endpoint_id, for_update=True)
    given = data.model_fields_set
    if data.url is not None:
        endpoint.url = check_url(data.url, mode=scope.mode)
    if data.enabled_events is not None:
        endpoint.enabled_events = _checked_events(data.enabled_events)
    if "description" in given:
        endpoint.description = data.description
    if data.metadata is not None:
        try:
            endpoint.metadata_ = merge_metadata(endpoint.metadata_, data.metadata)
        except MetadataTooLarge as exc:
            raise InvalidRequest(str(exc), code="parameter_invalid", param="metadata") from None
    if data.disabled is not None:
        endpoint.status = (
            WebhookEndpointStatus.DISABLED if data.disabled else WebhookEndpointStatus.ENABLED
        )
        if not data.disabled:
            endpoint.failing_since = None  # re-enabled: its failures start counting afresh
    if given:
        _touch(endpoint, clock.now())
    await session.flush()
    return endpoint


async def delete_endpoint(
    session: AsyncSession, *, scope: Scope, endpoint_id: str, clock: Clock
) -> WebhookEndpoint:
    """Delete the endpoint: it is kept (for the deliveries that name it) but never found again."""
    endpoint = await get_endpoint(session, scope=scope, endpoint_id=endpoint_id, for_update=True)
    now = clock.now()
    endpoint.deleted_at = now
    _touch(endpoint, now)
    await session.flush()
    log.info("webhook_endpoint.deleted", webhook_endpoint_id=endpoint.id, **_tenant(scope))
    return endpoint


async def rotate_secret(
    session: AsyncSession,
    *,
    scope: Scope,
    endpoint_id: str,
    overlap: timedelta,
    box: SecretBox,
    clock: Clock,
) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new signing secret; the current one keeps signing for `overlap`.

    A previous secret still in its overlap is dropped: only the two newest secrets ever sign.
    """
    endpoint = await get_endpoint(session, scope=scope, endpoint_id=endpoint_id, for_update=True)
    now = clock.now()
    secret = new_signing_secret()
    if overlap > timedelta(0):
        endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret_ciphertext = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret_ciphertext = box.encrypt(secret, endpoint_id=endpoint.id)
    _touch(endpoint, now)
    await session.flush()
    log.info(
        "webhook_endpoint.secret_rotated",
        webhook_endpoint_id=endpoint.id,
        overlap_seconds=int(overlap.total_seconds()),
        **_tenant(scope),
    )
    return endpoint, secret


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime, box: SecretBox) -> list[str]:
    """The secrets a delivery made at `now` is signed with: the current one first, then the
    previous one while its overlap lasts (until, not including, ``previous_secret_expires_at``).
    """
    secrets = [box.decrypt(endpoint.secret_ciphertext, endpoint_id=endpoint.id)]
    previous, expires_at = endpoint.previous_secret_ciphertext, endpoint.previous_secret_expires_at
    if previous is not None and expires_at is not None and now < expires_at:
        secrets.append(box.decrypt(previous, endpoint_id=endpoint.id))
    return secrets


def _checked_events(enabled_events: list[str]) -> list[str]:
    for event_type in enabled_events:
        if not is_known(event_type):
            raise EventTypeInvalid(
                f"Unknown event type {event_type!r}; see docs/webhooks.md for the list, "
                'or use "*" for all events.',
                param="enabled_events",
            )
    return list(dict.fromkeys(enabled_events))  # duplicates dropped, order kept


def _touch(endpoint: WebhookEndpoint, now: datetime) -> None:
    # Flagged even when unchanged (a frozen clock): otherwise ``onupdate=now()`` takes the
    # database's time instead of the clock's.
    endpoint.updated_at = now
    flag_modified(endpoint, "updated_at")


def _tenant(scope: Scope) -> dict[str, str]:
    return {"workspace_id": scope.workspace_id, "mode": scope.mode.value}
