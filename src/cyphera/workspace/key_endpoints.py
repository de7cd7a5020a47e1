"""``/v1/api_keys``: the workspace's API keys, managed by its members (never by an API key).

Session-authenticated, in the workspace named by ``Cyphera-Workspace``. Developers manage
test-mode keys, admins and owners live-mode keys too (`cyphera.auth.roles`). A key's plaintext is
in the creation response only; it is stored as its SHA-256.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from cyphera.auth.account_dependencies import MemberDep
from cyphera.auth.audit import request_audit
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.kit.pagination import ListObject
from cyphera.models.api_key import ApiKeyKind
from cyphera.workspace import team
from cyphera.workspace.team_schemas import ApiKey, ApiKeyCreate, ApiKeyListParams, mode_of

router = APIRouter(tags=["API keys"])

API_KEYS = "/v1/api_keys"


@router.get(API_KEYS, summary="List the workspace's API keys")
async def list_api_keys(
    params: Annotated[ApiKeyListParams, Query()], member: MemberDep, session: SessionDep
) -> ListObject[ApiKey]:
    page = await team.list_api_keys(
        session,
        member=member,
        page=params.page_request(),
        mode=mode_of(params.mode) if params.mode else None,
    )
    return ListObject[ApiKey](
        data=[ApiKey.from_model(k) for k in page.items], has_more=page.has_more, url=API_KEYS
    )


@router.post(
    API_KEYS,
    summary="Create an API key",
    description="The answer holds the key (`secret`) this once; store it in your secrets store.",
)
async def create_api_key(
    body: ApiKeyCreate, member: MemberDep, request: Request, session: SessionDep, clock: ClockDep
) -> ApiKey:
    issued = await team.create_api_key(
        session,
        member=member,
        name=body.name,
        mode=mode_of(body.mode),
        kind=ApiKeyKind.SECRET if body.type == "secret" else ApiKeyKind.RESTRICTED,
        clock=clock,
    )
    request_audit(request.scope.setdefault("state", {})).describe(
        "api_key.created",
        object_type="api_key",
        object_id=issued.api_key.id,
        details={"mode": body.mode, "type": body.type},
    )
    return ApiKey.from_model(issued.api_key, secret=issued.secret)


@router.post(API_KEYS + "/{api_key_id}/revoke", summary="Revoke an API key")
async def revoke_api_key(
    member: MemberDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    api_key_id: Annotated[str, Path(max_length=100)],
) -> ApiKey:
    api_key = await team.revoke_workspace_api_key(
        session, member=member, api_key_id=api_key_id, clock=clock
    )
    request_audit(request.scope.setdefault("state", {})).describe(
        "api_key.revoked",
        object_type="api_key",
        object_id=api_key.id,
        details={"mode": api_key.mode.value},
    )
    return ApiKey.from_model(api_key)
