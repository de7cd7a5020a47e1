"""``/v1/workspaces``, ``/v1/members`` and ``/v1/invitations``: a signed-in account's workspaces and
their teams.

Session-authenticated (``Authorization: Bearer sess_…``); everything but the account's own
workspaces and accepting an invitation acts in the workspace named by ``Cyphera-Workspace``, which
must be one the account is a member of (else ``404``). Roles are checked by the service
(`cyphera.workspace.team`, rules in `cyphera.auth.roles`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from cyphera.auth.account_dependencies import AccountDep, MemberDep
from cyphera.auth.audit import request_audit
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListObject, ListParams
from cyphera.workspace import team
from cyphera.workspace.team_schemas import (
    Invitation,
    InvitationAccept,
    InvitationCreate,
    Member,
    MemberDeleted,
    MemberUpdate,
    Workspace,
    WorkspaceCreate,
    role_of,
)

router = APIRouter()

WORKSPACES = "/v1/workspaces"
MEMBERS = "/v1/members"
INVITATIONS = "/v1/invitations"
IdPath = Annotated[str, Path(max_length=100)]


def _audit(
    request: Request,
    action: str,
    *,
    object_type: str,
    object_id: str,
    workspace_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    request_audit(request.scope.setdefault("state", {})).describe(
        action,
        object_type=object_type,
        object_id=object_id,
        workspace_id=workspace_id,
        details=details,
    )


@router.get(WORKSPACES, tags=["Workspaces"], summary="List the signed-in account's workspaces")
async def list_workspaces(
    params: Annotated[ListParams, Query()], account: AccountDep, session: SessionDep
) -> ListObject[Workspace]:
    found, has_more = await team.workspaces_of(session, account=account, page=params.page_request())
    return ListObject[Workspace](
        data=[Workspace.from_model(w, m) for w, m in found], has_more=has_more, url=WORKSPACES
    )


@router.post(
    WORKSPACES,
    tags=["Workspaces"],
    summary="Create a workspace",
    description="The signed-in account becomes its owner. Create API keys with /v1/api_keys.",
)
async def create_workspace(
    body: WorkspaceCreate,
    account: AccountDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Workspace:
    workspace, member = await team.create_workspace_for(
        session, account=account, name=body.name, clock=clock
    )
    _audit(
        request,
        "workspace.created",
        object_type="workspace",
        object_id=workspace.id,
        workspace_id=workspace.id,
    )
    return Workspace.from_model(workspace, member)


@router.get(MEMBERS, tags=["Members"], summary="List the workspace's members")
async def list_members(
    params: Annotated[ListParams, Query()], member: MemberDep, session: SessionDep
) -> ListObject[Member]:
    views, has_more = await team.list_members(session, member=member, page=params.page_request())
    return ListObject[Member](
        data=[Member.from_model(v.member, v.account) for v in views],
        has_more=has_more,
        url=MEMBERS,
    )


@router.post(
    MEMBERS + "/{member_id}",
    tags=["Members"],
    summary="Change a member's role",
    description="Admins manage members; only owners grant, change or remove the owner role. "
    "The last owner cannot be demoted.",
)
async def update_member(
    body: MemberUpdate,
    member: MemberDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    member_id: IdPath,
) -> Member:
    change = await team.update_member_role(
        session, member=member, member_id=member_id, role=role_of(body.role), clock=clock
    )
    _audit(
        request,
        "member.role_updated",
        object_type="member",
        object_id=change.member.member.id,
        details={"previous_role": change.previous_role.value, "role": body.role},
    )
    return Member.from_model(change.member.member, change.member.account)


@router.delete(
    MEMBERS + "/{member_id}",
    tags=["Members"],
    summary="Remove a member",
    description="Any member may remove themselves (leave); the last owner cannot.",
)
async def remove_member(
    member: MemberDep, request: Request, session: SessionDep, member_id: IdPath
) -> MemberDeleted:
    removed = await team.remove_member(session, member=member, member_id=member_id)
    _audit(
        request,
        "member.removed",
        object_type="member",
        object_id=removed.id,
        details={"account": removed.account_id, "role": removed.role.value},
    )
    return MemberDeleted(id=removed.id, deleted=True)


@router.get(INVITATIONS, tags=["Invitations"], summary="List the workspace's invitations")
async def list_invitations(
    params: Annotated[ListParams, Query()],
    member: MemberDep,
    session: SessionDep,
    clock: ClockDep,
) -> ListObject[Invitation]:
    page = await team.list_invitations(session, member=member, page=params.page_request())
    now = to_unix(clock.now())
    return ListObject[Invitation](
        data=[Invitation.from_model(i, now_unix=now) for i in page.items],
        has_more=page.has_more,
        url=INVITATIONS,
    )


@router.post(
    INVITATIONS,
    tags=["Invitations"],
    summary="Invite someone to the workspace",
    description="The answer carries the invitation's token, once: send it to the invitee, who "
    "accepts with POST /v1/invitations/accept.",
)
async def create_invitation(
    body: InvitationCreate,
    member: MemberDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Invitation:
    days = request.app.state.settings.auth.invitation_ttl_days
    issued = await team.create_invitation(
        session,
        member=member,
        role=role_of(body.role),
        email=body.email,
        address=body.address,
        ttl=timedelta(days=days),
        clock=clock,
    )
    _audit(
        request,
        "invitation.created",
        object_type="invitation",
        object_id=issued.invitation.id,
        details={"role": body.role},
    )
    return Invitation.from_model(
        issued.invitation, now_unix=to_unix(clock.now()), token=issued.token
    )


@router.post(
    INVITATIONS + "/accept",
    tags=["Invitations"],
    summary="Accept an invitation",
    description="Joins the invitation's workspace as the signed-in account. An invitation to a "
    "wallet address can only be accepted by the account signed in with that address.",
)
async def accept_invitation(
    body: InvitationAccept,
    account: AccountDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Workspace:
    workspace, member, invitation = await team.accept_invitation(
        session, account=account, token=body.token, clock=clock
    )
    _audit(
        request,
        "invitation.accepted",
        object_type="invitation",
        object_id=invitation.id,
        workspace_id=workspace.id,
        details={"member": member.id, "role": member.role.value},
    )
    return Workspace.from_model(workspace, member)


@router.post(
    INVITATIONS + "/{invitation_id}/revoke",
    tags=["Invitations"],
    summary="Revoke an invitation",
)
async def revoke_invitation(
    member: MemberDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    invitation_id: IdPath,
) -> Invitation:
    invitation = await team.revoke_invitation(
        session, member=member, invitation_id=invitation_id, clock=clock
    )
    _audit(request, "invitation.revoked", object_type="invitation", object_id=invitation.id)
    return Invitation.from_model(invitation, now_unix=to_unix(clock.now()))
