"""The dashboard's settings for developers and payouts: API keys, webhook endpoints, payout addresses.

Each page reads and writes through the service the REST API uses, with its request model
(`forms.form_model`), so a form is refused where the API would refuse the same body.

- API keys are the workspace's, both modes on one page; who may create or revoke one is the
  service's rule (`cyphera.workspace.team`: the member's ``manage_test_keys`` /
  ``manage_live_keys``, `cyphera.auth.roles.key_capability`), so those forms check only CSRF here.
- Webhook endpoints and payout addresses belong to the page's mode; changing them needs
  ``manage_billing`` (`access.acting_to_change`), as every other dashboard change does.

A secret (an API key, a webhook signing secret) is shown once, in the answer to the POST that made
it (every dashboard answer is ``Cache-Control: no-store``, `cyphera.web.security`), never in a URL or a redirect; the list pages show only what the
API lists (a key's first characters).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.roles import key_capability
from cyphera.chain.networks import NetworkRegistry
from cyphera.exceptions import AppError, InvalidRequest
from cyphera.kit.pagination import PageRequest
from cyphera.models.api_key import ApiKeyKind
from cyphera.models.mixins import Mode
from cyphera.network.endpoints import networks_for_mode
from cyphera.payment.dependencies import RegistryDep
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.deps import ActingDep, ChangingDep, SubmittingDep
from cyphera.web.dashboard.forms import error_status, form_error, form_model
from cyphera.web.dashboard.frame import frame, next_cursor, pages_of
from cyphera.webhook import service as webhooks
from cyphera.webhook.endpoints import get_secret_box
from cyphera.webhook.events import ALL_EVENTS, EVENT_TYPES
from cyphera.webhook.schemas import WebhookEndpointCreate
from cyphera.workspace import service as workspaces
from cyphera.workspace import team
from cyphera.workspace.schemas import PayoutAddressSet
from cyphera.workspace.team_schemas import ApiKeyCreate
from cyphera.workspace.team_schemas import mode_of as key_mode_of

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
Text = Annotated[str, Form()]
CsrfField = Annotated[str | None, Form(alias="csrf_token")]
PAGE_SIZE = 50


# --- API keys ---------------------------------------------------------------------------------


async def _keys_page(
    request: Request,
    session: SessionDep,
    acting: access.Acting,
    *,
    starting_after: str | None = None,
    done: str = "",
    created: dict[str, str] | None = None,
) -> Response:
    found = await team.list_api_keys(
        session,
        member=acting.member,
        page=PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
        mode=None,
    )
    modes = [m.value for m in Mode if acting.can(key_capability(m))]
    context = await frame(request, session, acting, "api_keys")
    context |= {
        "keys": [
            {
                "id": k.id,
                "name": k.name,
                "mode": k.mode.value,
                "type": k.kind.value,
                "redacted": k.redacted,
                "created": words.date(k.created_at),
                "last_used": words.moment(k.last_used_at) if k.last_used_at else "never",
                "revoked": words.date(k.revoked_at) if k.revoked_at else None,
                "can_revoke": k.revoked_at is None and acting.can(key_capability(k.mode)),
            }
            for k in found.items
        ],
        "key_modes": modes,
        "next": next_cursor(found),
        "done": done,
        "created": created,
    }
    return pages_of(request).render("dashboard/api_keys.html", context)


@router.get(WS + "/api_keys", response_class=HTMLResponse)
async def dashboard_api_keys(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
    done: str = "",
) -> Response:
    return await _keys_page(request, session, acting, starting_after=starting_after, done=done)


@router.post(WS + "/api_keys", response_class=HTMLResponse)
async def dashboard_create_api_key(
    acting: SubmittingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    name: Text = "",
    key_mode: Annotated[str, Form(alias="mode")] = "",
    key_type: Annotated[str, Form(alias="type")] = "secret",
) -> Response:
    data = form_model(ApiKeyCreate, {"name": name, "mode": key_mode, "type": key_type})
    issued = await team.create_api_key(
        session,
        member=acting.member,
        name=data.name,
        mode=key_mode_of(data.mode),
        kind=ApiKeyKind.SECRET if data.type == "secret" else ApiKeyKind.RESTRICTED,
        clock=clock,
    )
    access.describe(
        request,
        "api_key.created",
        object_type="api_key",
        object_id=issued.api_key.id,
        details={"mode": data.mode, "type": data.type},
    )
    created = {
        "id": issued.api_key.id,
        "name": issued.api_key.name,
        "mode": data.mode,
        "secret": issued.secret,
    }
    return await _keys_page(request, session, acting, created=created)


@router.post(WS + "/api_keys/{api_key_id}/revoke")
async def dashboard_revoke_api_key(
    acting: SubmittingDep,
    api_key_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    revoked = await team.revoke_workspace_api_key(
        session, member=acting.member, api_key_id=api_key_id, clock=clock
    )
    access.describe(
        request,
        "api_key.revoked",
        object_type="api_key",
        object_id=revoked.id,
        details={"mode": revoked.mode.value},
    )
    return RedirectResponse(f"{acting.base}/api_keys?done=revoked", status_code=303)


# --- webhook endpoints ------------------------------------------------------------------------


async def _webhooks_page(
    request: Request,
    session: SessionDep,
    acting: access.Acting,
    *,
    starting_after: str | None = None,
    done: str = "",
    created: dict[str, Any] | None = None,
) -> Response:
    found = await webhooks.list_endpoints(
        session,
        scope=acting.scope,
        page=PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
    )
    context = await frame(request, session, acting, "webhooks")
    context |= {
        "endpoints": [
            {
                "id": e.id,
                "url": e.url,
                "description": e.description,
                "events": e.enabled_events,
                "status": e.status.value,
                "created": words.date(e.created_at),
            }
            for e in found.items
        ],
        "event_types": EVENT_TYPES,
        "all_events": ALL_EVENTS,
        "next": next_cursor(found),
        "done": done,
        "created": created,
    }
    return pages_of(request).render("dashboard/webhooks.html", context)


@router.get(WS + "/webhooks", response_class=HTMLResponse)
async def dashboard_webhooks(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
    done: str = "",
) -> Response:
    return await _webhooks_page(request, session, acting, starting_after=starting_after, done=done)


@router.post(WS + "/webhooks", response_class=HTMLResponse)
async def dashboard_create_webhook(
    acting: ChangingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    url: Text = "",
    description: Text = "",
    events: Annotated[list[str] | None, Form()] = None,
) -> Response:
    body: dict[str, Any] = {"url": url.strip(), "enabled_events": events or []}
    if description.strip():
        body["description"] = description.strip()
    data = form_model(WebhookEndpointCreate, body)
    endpoint, secret = await webhooks.create_endpoint(
        session, scope=acting.scope, data=data, box=get_secret_box(request), clock=clock
    )
    access.describe(
        request,
        "webhook_endpoint.created",
        object_type="webhook_endpoint",
        object_id=endpoint.id,
    )
    created = {"id": endpoint.id, "url": endpoint.url, "secret": secret}
    return await _webhooks_page(request, session, acting, created=created)


@router.post(WS + "/webhooks/{endpoint_id}/delete")
async def dashboard_delete_webhook(
    acting: ChangingDep,
    endpoint_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    deleted = await webhooks.delete_endpoint(
        session, scope=acting.scope, endpoint_id=endpoint_id, clock=clock
    )
    access.describe(
        request,
        "webhook_endpoint.deleted",
        object_type="webhook_endpoint",
        object_id=deleted.id,
    )
    return RedirectResponse(f"{acting.base}/webhooks?done=deleted", status_code=303)


# --- payout addresses -------------------------------------------------------------------------


async def _payouts_page(
    request: Request,
    session: SessionDep,
    acting: access.Acting,
    registry: NetworkRegistry,
    *,
    done: str = "",
    error: AppError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    payouts = {
        p.network: p.address
        for p in await workspaces.list_payout_addresses(session, scope=acting.scope)
    }
    context = await frame(request, session, acting, "payouts")
    context |= {
        "networks": [
            {"key": n.key, "name": n.name, "address": payouts.get(n.key)}
            for n in networks_for_mode(registry, acting.mode)
        ],
        "done": done,
        "error": form_error(error),
        "form": form or {},
    }
    return pages_of(request).render(
        "dashboard/payouts.html", context, status_code=error_status(error)
    )


@router.get(WS + "/payouts", response_class=HTMLResponse)
async def dashboard_payouts(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    done: str = "",
) -> Response:
    return await _payouts_page(request, session, acting, registry, done=done)


@router.post(WS + "/payouts")
async def dashboard_set_payout(
    acting: ChangingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    network: Text = "",
    address: Text = "",
) -> Response:
    try:
        data = form_model(PayoutAddressSet, {"address": address.strip()})
        # The service refuses a network of the other mode (a forged form may name any).
        payout = await workspaces.set_payout_address(
            session, scope=acting.scope, network=network, address=data.address, clock=clock
        )
    except InvalidRequest as exc:
        return await _payouts_page(
            request,
            session,
            acting,
            registry,
            error=exc,
            form={"network": network, "address": address},
        )
    access.describe(
        request,
        "payout_address.set",
        object_type="payout_address",
        object_id=payout.id,
        details={"network": payout.network, "address": payout.address},
    )
    return RedirectResponse(f"{acting.base}/payouts?done=set", status_code=303)
