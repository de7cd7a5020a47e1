"""Accepting an invitation from its link: ``/dashboard/invite?token=inv_…``.

Signed out, the page is the sign-in (the script comes back here afterwards); signed in, one
button accepts it as that account (`cyphera.workspace.team.accept_invitation`: the invitation's
wallet must be the account's; expired, revoked and used invitations say so) and opens the
workspace. The token travels in the URL the inviter sent, as a checkout's key does, and in the
form; it is never shown back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.audit import request_audit
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.exceptions import Unauthenticated
from cyphera.models.audit_entry import ActorType
from cyphera.web.dashboard import access
from cyphera.web.dashboard.frame import pages_of, sign_in
from cyphera.workspace import team

router = APIRouter(include_in_schema=False)
INVITE_PATH = access.PATH + "/invite"
MAX_TOKEN = 200


@router.get(INVITE_PATH, response_class=HTMLResponse)
async def invitation_page(
    request: Request, session: SessionDep, clock: ClockDep, token: str = ""
) -> Response:
    try:
        account = await access.account_of(request, session, clock)
    except Unauthenticated:
        return sign_in(request, next_url=str(request.url.path) + "?" + str(request.url.query))
    return pages_of(request).render(
        "dashboard/invite.html",
        {"token": token[:MAX_TOKEN], "csrf": access.csrf(request, account.session_id)},
    )


@router.post(INVITE_PATH)
async def accept_invitation(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    account = await access.account_of(request, session, clock)
    access.check_csrf(request, account.session_id, csrf_token)
    workspace, _, _ = await team.accept_invitation(
        session, account=account, token=token[:MAX_TOKEN], clock=clock
    )
    request_audit(request.scope.setdefault("state", {})).act_as(
        ActorType.ACCOUNT, account.account_id, workspace_id=workspace.id
    )
    return RedirectResponse(f"{access.PATH}/{workspace.id}/test", status_code=303)
