"""Who is signed in to the dashboard, as whom they act, and the CSRF check of their forms.

The dashboard keeps the merchant's session token (the ``sess_…`` of `cyphera.auth.sessions`,
the same sessions the API's sign-in opens) in the ``cyphera_dashboard`` cookie: HttpOnly,
SameSite=Lax, path ``/dashboard``, Secure when the public URL is https. The page script never
sees it. Every URL names the workspace and mode (``/dashboard/{workspace}/{test|live}/…``); the
workspace is a claim, checked against the account's membership (`resolve_member`): someone
else's workspace is the same 404 as one that does not exist. Forms carry the session's CSRF
token, an HMAC of the session id under the hosted-page secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.audit import request_audit
from cyphera.auth.errors import CsrfInvalid
from cyphera.auth.members import AccountContext, MemberContext, resolve_member
from cyphera.auth.roles import Capability
from cyphera.auth.scope import Scope
from cyphera.auth.sessions import authenticate_session
from cyphera.kit.clock import Clock
from cyphera.kit.hosted import capability_token, hosted_secret, token_matches
from cyphera.models.audit_entry import ActorType
from cyphera.models.mixins import Mode

COOKIE = "cyphera_dashboard"
PATH = "/dashboard"
CSRF_CONTEXT = b"cyphera.dashboard_csrf.v1:"
SESSION_MAX_AGE = 12 * 3600


@dataclass(frozen=True, slots=True)
class Acting:
    """A member acting in one workspace and mode."""

    member: MemberContext
    mode: Mode

    @property
    def scope(self) -> Scope:
        return Scope(self.member.workspace_id, self.mode)

    @property
    def base(self) -> str:
        return f"{PATH}/{self.member.workspace_id}/{self.mode.value}"

    def can(self, capability: Capability) -> bool:
        return self.member.can(capability)


def secure(request: Request) -> bool:
    return str(request.app.state.settings.api.public_url).startswith("https://")


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_MAX_AGE,
        path=PATH,
        secure=secure(request),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, secure=secure(request), httponly=True, samesite="lax")


async def account_of(request: Request, session: AsyncSession, clock: Clock) -> AccountContext:
    """The signed-in account, or the `Unauthenticated` error of its session."""
    return await authenticate_session(session, token=request.cookies.get(COOKIE), clock=clock)


async def acting(
    request: Request,
    session: AsyncSession,
    clock: Clock,
    *,
    workspace_id: str,
    mode: Mode,
) -> Acting:
    account = await account_of(request, session, clock)
    member = await resolve_member(session, account=account, workspace_id=workspace_id, param="id")
    # Whatever this request changes is audited as this person's act.
    request_audit(request.scope.setdefault("state", {})).act_as(
        ActorType.ACCOUNT, account.account_id, workspace_id=member.workspace_id, mode=mode
    )
    return Acting(member=member, mode=mode)


def _secret(request: Request) -> bytes:
    return hosted_secret(environment=request.app.state.settings.environment)


def csrf(request: Request, session_id: str) -> str:
    return capability_token(CSRF_CONTEXT, session_id, secret=_secret(request))


def check_csrf(request: Request, session_id: str, token: str | None) -> None:
    if not token or not token_matches(CSRF_CONTEXT, session_id, token, secret=_secret(request)):
        raise CsrfInvalid("This form has expired; reload the page and try again.")


async def acting_to_submit(
    request: Request,
    session: AsyncSession,
    clock: Clock,
    *,
    workspace_id: str,
    mode: Mode,
    csrf_token: str | None,
) -> Acting:
    """`acting`, for a form whose capability the service itself checks (API keys, the team):
    only its CSRF token is checked here."""
    member = await acting(request, session, clock, workspace_id=workspace_id, mode=mode)
    check_csrf(request, member.member.session_id, csrf_token)
    return member


async def acting_to_change(
    request: Request,
    session: AsyncSession,
    clock: Clock,
    *,
    workspace_id: str,
    mode: Mode,
    csrf_token: str | None,
) -> Acting:
    """`acting`, for a form that changes something: its CSRF token, and ``manage_billing``."""
    member = await acting_to_submit(
        request, session, clock, workspace_id=workspace_id, mode=mode, csrf_token=csrf_token
    )
    member.member.require(Capability.MANAGE_BILLING)
    return member


def describe(
    request: Request,
    action: str,
    *,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Name this request's act in the audit log as the API names the same act
    (``api_key.created`` …), instead of the default ``POST <route>``."""
    request_audit(request.scope.setdefault("state", {})).describe(
        action, object_type=object_type, object_id=object_id, details=details
    )
