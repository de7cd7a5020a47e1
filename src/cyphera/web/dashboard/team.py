"""The dashboard's team and audit log pages.

Members and invitations go through `cyphera.workspace.team` with the signed-in `MemberContext`,
exactly as ``/v1/members`` and ``/v1/invitations`` do: the service decides who may invite, change
a role or remove someone (``manage_members``, and ``manage_owners`` for anything touching the owner
role, `cyphera.auth.roles`), so these forms check only CSRF here, and the page offers only what the
member's role allows. A new invitation's token is shown once, in the answer to the POST that made
it, never in a URL. The audit log is `cyphera.auth.audit.list_entries` of the whole workspace
(both modes, management included), newest first, in cursor pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth import audit
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.roles import Capability, role_capability
from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import PageRequest
from cyphera.models.audit_entry import ActorType, AuditEntry
from cyphera.models.member import MemberRole
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.deps import ActingDep, SubmittingDep
from cyphera.web.dashboard.forms import form_model
from cyphera.web.dashboard.frame import frame, next_cursor, pages_of
from cyphera.web.dashboard.invite import INVITE_PATH
from cyphera.workspace import team
from cyphera.workspace.team_schemas import Invitation, InvitationCreate, MemberUpdate, role_of

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
Text = Annotated[str, Form()]
CsrfField = Annotated[str | None, Form(alias="csrf_token")]
TEAM_SIZE = 100
AUDIT_PAGE_SIZE = 25
ROLES = [
    r.value for r in (MemberRole.VIEWER, MemberRole.DEVELOPER, MemberRole.ADMIN, MemberRole.OWNER)
]


def _grantable(acting: access.Acting) -> list[str]:
    """The roles this member may give (`role_capability`); the service checks it again."""
    return [r for r in ROLES if acting.can(role_capability(MemberRole(r)))]


async def _team_page(
    request: Request,
    session: SessionDep,
    acting: access.Acting,
    *,
    now: int,
    done: str = "",
    invited: dict[str, str] | None = None,
) -> Response:
    members, _ = await team.list_members(
        session, member=acting.member, page=PageRequest(limit=TEAM_SIZE)
    )
    invitations = await team.list_invitations(
        session, member=acting.member, page=PageRequest(limit=TEAM_SIZE)
    )
    shown = [Invitation.from_model(i, now_unix=now) for i in invitations.items]
    context = await frame(request, session, acting, "team")
    context |= {
        "members": [
            {
                "id": v.member.id,
                "who": v.account.wallet_address or v.account.email or v.account.id,
                "role": v.member.role.value,
                "since": words.date(v.member.created_at),
                "you": v.member.id == acting.member.member_id,
                "can_change": acting.can(role_capability(v.member.role)),
            }
            for v in members
        ],
        "invitations": [
            {
                "id": i.id,
                "who": i.address or i.email or "",
                "role": i.role,
                "status": i.status,
                "expires": words.date(i.expires),
                "can_revoke": i.status == "pending"
                and acting.can(role_capability(MemberRole(i.role))),
            }
            for i in shown
        ],
        "grantable": _grantable(acting),
        "can_invite": acting.can(Capability.MANAGE_MEMBERS),
        "done": done,
        "invited": invited,
    }
    return pages_of(request).render("dashboard/team.html", context)


@router.get(WS + "/team", response_class=HTMLResponse)
async def dashboard_team(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    done: str = "",
) -> Response:
    return await _team_page(request, session, acting, now=to_unix(clock.now()), done=done)


@router.post(WS + "/team/invitations", response_class=HTMLResponse)
async def dashboard_invite(
    acting: SubmittingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    address: Text = "",
    role: Text = "",
) -> Response:
    data = form_model(InvitationCreate, {"address": address.strip(), "role": role})
    issued = await team.create_invitation(
        session,
        member=acting.member,
        role=role_of(data.role),
        email=None,
        address=data.address,
        ttl=timedelta(days=request.app.state.settings.auth.invitation_ttl_days),
        clock=clock,
    )
    access.describe(
        request,
        "invitation.created",
        object_type="invitation",
        object_id=issued.invitation.id,
        details={"role": data.role},
    )
    public = str(request.app.state.settings.api.public_url).rstrip("/")
    invited = {
        "id": issued.invitation.id,
        "who": issued.invitation.address or "",
        "token": issued.token,
        "link": f"{public}{INVITE_PATH}?{urlencode({'token': issued.token})}",
    }
    return await _team_page(request, session, acting, now=to_unix(clock.now()), invited=invited)


@router.post(WS + "/team/invitations/{invitation_id}/revoke")
async def dashboard_revoke_invitation(
    acting: SubmittingDep,
    invitation_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    invitation = await team.revoke_invitation(
        session, member=acting.member, invitation_id=invitation_id, clock=clock
    )
    access.describe(
        request, "invitation.revoked", object_type="invitation", object_id=invitation.id
    )
    return RedirectResponse(f"{acting.base}/team?done=revoked", status_code=303)


@router.post(WS + "/team/members/{member_id}/role")
async def dashboard_change_role(
    acting: SubmittingDep,
    member_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    role: Text = "",
) -> Response:
    data = form_model(MemberUpdate, {"role": role})
    change = await team.update_member_role(
        session, member=acting.member, member_id=member_id, role=role_of(data.role), clock=clock
    )
    access.describe(
        request,
        "member.role_updated",
        object_type="member",
        object_id=change.member.member.id,
        details={"previous_role": change.previous_role.value, "role": data.role},
    )
    return RedirectResponse(f"{acting.base}/team?done=role", status_code=303)


@router.post(WS + "/team/members/{member_id}/remove")
async def dashboard_remove_member(
    acting: SubmittingDep,
    member_id: str,
    request: Request,
    session: SessionDep,
) -> Response:
    removed = await team.remove_member(session, member=acting.member, member_id=member_id)
    access.describe(
        request,
        "member.removed",
        object_type="member",
        object_id=removed.id,
        details={"account": removed.account_id, "role": removed.role.value},
    )
    if removed.id == acting.member.member_id:  # they left: this workspace is no longer theirs
        return RedirectResponse(access.PATH, status_code=303)
    return RedirectResponse(f"{acting.base}/team?done=removed", status_code=303)


# --- audit log --------------------------------------------------------------------------------


def _who(entry: AuditEntry, actor: audit.Actor | None) -> dict[str, str]:
    """The audit log's "who": short text, and the full identity for its title."""
    if entry.actor_type is ActorType.OPERATOR:  # the platform's operator (CLI, admin API)
        return {"text": "Cyphera operator", "title": f"operator {entry.actor_id}"}
    if actor is None:  # a key or account since deleted: its id is all there is
        return {"text": f"{entry.actor_type.value} {entry.actor_id}", "title": entry.actor_id}
    if actor.key_name is not None:
        mode = actor.key_mode.value if actor.key_mode else ""
        return {
            "text": f"API key “{actor.key_name}”",
            "title": f"{mode} API key {actor.actor_id}".strip(),
        }
    if actor.wallet_address:
        return {"text": words.short_address(actor.wallet_address), "title": actor.wallet_address}
    signed_in = f"{actor.oidc_subject} at {actor.oidc_issuer}"
    return {"text": actor.email or actor.oidc_subject or actor.actor_id, "title": signed_in}


def _entry(entry: AuditEntry, actors: dict[tuple[ActorType, str], audit.Actor]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "when": words.moment(entry.created_at),
        "who": _who(entry, actors.get((entry.actor_type, entry.actor_id))),
        "action": entry.action,
        "object": entry.object_id or "",
        "mode": entry.mode.value if entry.mode else "",
    }


@router.get(WS + "/audit", response_class=HTMLResponse)
async def dashboard_audit(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
) -> Response:
    acting.member.require(Capability.READ)
    found = await audit.list_entries(
        session,
        scope=acting.member.scope,
        page=PageRequest(limit=AUDIT_PAGE_SIZE, starting_after=starting_after),
    )
    actors = await audit.actors_of(session, scope=acting.member.scope, entries=found.items)
    context = await frame(request, session, acting, "audit")
    context |= {
        "entries": [_entry(e, actors) for e in found.items],
        "next": next_cursor(found),
        "first_page": starting_after is None,
    }
    return pages_of(request).render("dashboard/audit.html", context)
