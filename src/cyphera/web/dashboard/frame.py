"""What every dashboard page shares: rendering, the sign-in and error states, the frame around
its content (workspace switcher, mode toggle, navigation, the CSRF token)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.account_repository import MemberRepository
from cyphera.auth.members import WorkspaceNotFound
from cyphera.auth.roles import Capability
from cyphera.exceptions import HTTP_STATUS_BY_KIND, AppError, NotFound, Unauthenticated
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models.mixins import Mode
from cyphera.web.dashboard import access
from cyphera.web.security import content_security_policy
from cyphera.web.templating import Pages

HOME = access.PATH
OIDC_PATH = access.PATH + "/oidc"


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def sign_in(
    request: Request,
    *,
    status_code: int = 200,
    next_url: str = "",
    refusal: AppError | None = None,
) -> Response:
    """The sign-in page: the wallets (the script goes to `next_url`, a path of ours, after
    signing), a button per OIDC provider with a browser flow, and why the last try was refused."""
    providers = [p for p in request.app.state.settings.auth.oidc_providers if p.has_browser_flow]
    response = pages_of(request).render(
        "dashboard/sign_in.html",
        {
            "page": {
                "nonce_url": f"{HOME}/api/nonce",
                "sign_in_url": f"{HOME}/api/sign-in",
                "next": next_url if next_url.startswith(HOME + "/") else "",
                "providers": [
                    {"name": p.name, "start": f"{OIDC_PATH}/{quote(p.name, safe='')}/start"}
                    for p in providers
                ],
                "refusal": {"code": refusal.code, "message": refusal.message} if refusal else None,
            }
        },
        status_code=status_code,
    )
    if providers:
        # The providers' buttons post to us and are redirected to them: allow those origins.
        origins = sorted({_origin(p.authorization_url or "") for p in providers})
        response.headers["Content-Security-Policy"] = content_security_policy(form_targets=origins)
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def failed(request: Request, exc: AppError) -> Response:
    if isinstance(exc, Unauthenticated):
        return sign_in(request, status_code=401)
    if isinstance(exc, NotFound):
        return pages_of(request).render("dashboard/not_found.html", {}, status_code=404)
    return pages_of(request).render(
        "dashboard/error.html",
        {"message": exc.message, "code": exc.code},
        status_code=HTTP_STATUS_BY_KIND[exc.kind],
    )


def mode_of(value: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise WorkspaceNotFound(f"No such mode: {value!r}") from None


async def frame(
    request: Request, session: AsyncSession, acting: access.Acting, section: str
) -> dict[str, Any]:
    """What every dashboard page shows around its content: switcher, mode toggle, nav."""
    memberships, _ = await MemberRepository(session).workspaces_page(
        acting.member.account_id, page=PageRequest(limit=100)
    )
    other = Mode.LIVE if acting.mode is Mode.TEST else Mode.TEST
    return {
        "base": acting.base,
        "section": section,
        "mode": acting.mode.value,
        "livemode": acting.mode is Mode.LIVE,
        "other_mode_url": f"{HOME}/{acting.member.workspace_id}/{other.value}",
        "workspace_id": acting.member.workspace_id,
        "workspaces": [{"id": w.id, "name": w.name} for w, _ in memberships],
        "role": acting.member.role.value,
        "can_manage": acting.can(Capability.MANAGE_BILLING),
        "csrf": access.csrf(request, acting.member.session_id),
    }


def next_cursor(page: Page[Any]) -> str | None:
    """The ``starting_after`` of the page after `page` (its last item's id), None at the end."""
    return page.items[-1].id if page.has_more and page.items else None
