"""The portal's cookie and CSRF check, and the viewer of a request.

The portal session token lives in one cookie, ``cyphera_portal``: HttpOnly (scripts never see
it), SameSite=Lax, scoped to ``/portal``, Secure whenever the public URL is https. Every
state-changing request also carries the session's CSRF token: a form's hidden ``csrf_token``
field, or the ``Cyphera-CSRF`` header of the script's JSON posts.
"""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.kit.clock import Clock
from cyphera.kit.hosted import hosted_secret
from cyphera.portal import sessions
from cyphera.portal.viewer import Viewer
from cyphera.web.checkout import access as checkout_access

COOKIE = "cyphera_portal"
CSRF_HEADER = "Cyphera-CSRF"
CSRF_FIELD = "csrf_token"


def secret(request: Request) -> bytes:
    return hosted_secret(environment=request.app.state.settings.environment)


def public_url(request: Request) -> str:
    return str(request.app.state.settings.api.public_url).rstrip("/")


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(sessions.SESSION_TTL.total_seconds()),
        path=sessions.PATH,
        secure=public_url(request).startswith("https://"),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path=sessions.PATH,
        secure=public_url(request).startswith("https://"),
        httponly=True,
        samesite="lax",
    )


async def viewer_of(request: Request, session: AsyncSession, clock: Clock) -> Viewer:
    """The signed-in viewer, or `PortalSignInRequired`."""
    return await sessions.authenticate(session, token=request.cookies.get(COOKIE), now=clock.now())


def csrf(request: Request, viewer: Viewer) -> str:
    return sessions.csrf_token(viewer, secret=secret(request))


def check_csrf(request: Request, viewer: Viewer, token: str | None) -> None:
    sessions.check_csrf(viewer, token, secret=secret(request))


async def limit(request: Request) -> None:
    """The portal's requests count against the client's hosted-page rate limit."""
    await checkout_access.limit(request, "", prefix="portal")
