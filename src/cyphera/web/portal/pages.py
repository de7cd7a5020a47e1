"""The customer portal's pages: sign in, the list of subscriptions, one subscription, and forms.

``/portal`` shows the sign-in page (connect a wallet, sign an EIP-4361 message: ``portal.ts``)
until a portal session exists, then every subscription of the viewer. A merchant's link
(``/portal/sessions/bps_…?key=…``) opens a session for that customer and redirects here.
Forms (cancel, subscribe again, sign out) post with the session's CSRF token and redirect back
(303); the wallet's revocation is ``portal.ts`` over `cyphera.web.portal.api`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.checkout.service import create_session
from cyphera.exceptions import HTTP_STATUS_BY_KIND, AppError
from cyphera.kit.hosted import checkout_page_url
from cyphera.models.portal import PortalCancelMode
from cyphera.models.subscription import SubscriptionStatus
from cyphera.payment.dependencies import GatewayDep, RegistryDep
from cyphera.portal import service, sessions
from cyphera.portal.errors import (
    PortalCsrfInvalid,
    PortalLinkInvalid,
    PortalSignInRequired,
    PortalSubscriptionMissing,
)
from cyphera.web.portal import access
from cyphera.web.portal.view import history_view, permission_view, row
from cyphera.web.templating import Pages

router = APIRouter(include_in_schema=False)
S = SubscriptionStatus
PERIOD_END_CANCELABLE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE})
NOW_CANCELABLE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED, S.UNPAID})
RESUBSCRIBABLE = frozenset({S.CANCELED, S.INCOMPLETE_EXPIRED, S.UNPAID})
HOME = sessions.PATH
CsrfField = Annotated[str | None, Form(alias=access.CSRF_FIELD)]


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _sign_in(request: Request, *, status_code: int = 200, note: str | None = None) -> Response:
    return _pages(request).render(
        "portal/sign_in.html",
        {
            "note": note,
            "page": {"nonce_url": f"{HOME}/api/nonce", "sign_in_url": f"{HOME}/api/sign-in"},
        },
        status_code=status_code,
    )


def _failed(request: Request, exc: AppError) -> Response:
    """A form that could not be carried out: its page state, nothing changed (rolled back)."""
    if isinstance(exc, PortalSignInRequired):
        return _sign_in(request, status_code=401, note="Your session has ended; sign in again.")
    if isinstance(exc, PortalSubscriptionMissing):
        return _pages(request).render("portal/not_found.html", {}, status_code=404)
    return _pages(request).render(
        "portal/error.html",
        {"message": exc.message, "code": exc.code},
        status_code=HTTP_STATUS_BY_KIND[exc.kind],
    )


@router.get(HOME, response_class=HTMLResponse)
async def portal_home(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    await access.limit(request)
    try:
        viewer = await access.viewer_of(request, session, clock)
    except PortalSignInRequired:
        return _sign_in(request)
    items = await service.list_subscriptions(session, viewer=viewer)
    return _pages(request).render(
        "portal/home.html",
        {
            "rows": [row(item) for item in items],
            "address": viewer.address,
            "return_url": viewer.return_url,
            "csrf": access.csrf(request, viewer),
        },
    )


@router.get(HOME + "/sessions/{link_id}")
async def open_portal_link(
    link_id: str, request: Request, session: SessionDep, clock: ClockDep, key: str = ""
) -> Response:
    await access.limit(request)
    try:
        _, token = await sessions.open_link(
            session, link_id=link_id, key=key, secret=access.secret(request), now=clock.now()
        )
    except PortalLinkInvalid:
        return _pages(request).render("portal/link_invalid.html", {}, status_code=404)
    response = RedirectResponse(HOME, status_code=303)
    access.set_cookie(request, response, token)
    return response


@router.get(HOME + "/subscriptions/{subscription_id}", response_class=HTMLResponse)
async def portal_subscription(
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
) -> Response:
    await access.limit(request)
    try:
        viewer = await access.viewer_of(request, session, clock)
        item = await service.find(session, viewer=viewer, subscription_id=subscription_id)
    except PortalSignInRequired:
        return _sign_in(request, status_code=401, note="Sign in to see this subscription.")
    except PortalSubscriptionMissing:
        return _pages(request).render("portal/not_found.html", {}, status_code=404)
    history = await service.history(session, item=item)
    s = item.subscription
    context: dict[str, Any] = {
        "sub": row(item),
        "permission": permission_view(item, registry, now=clock.now()),
        "history": history_view(
            history, registry, base_url=access.public_url(request), secret=access.secret(request)
        ),
        "csrf": access.csrf(request, viewer),
        "can_cancel": s.status in PERIOD_END_CANCELABLE and not s.cancel_at_period_end,
        "cancel_now": s.status in NOW_CANCELABLE
        and item.workspace.portal_cancel_mode is PortalCancelMode.IMMEDIATELY,
        "can_resubscribe": s.status in RESUBSCRIBABLE and item.price.active,
        "period_end": s.current_period_end.strftime("%Y-%m-%d"),
        "notice": request.query_params.get("done"),
        "page": {
            "revocation_url": f"{HOME}/api/subscriptions/{s.id}/revocation",
            "csrf": access.csrf(request, viewer),
        },
    }
    return _pages(request).render("portal/subscription.html", context)


@router.post(HOME + "/subscriptions/{subscription_id}/cancel")
async def portal_cancel(
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    csrf_token: CsrfField = None,
    when: Annotated[str, Form()] = "period_end",
) -> Response:
    await access.limit(request)
    try:
        viewer = await access.viewer_of(request, session, clock)
        access.check_csrf(request, viewer, csrf_token)
        await service.cancel(
            session,
            viewer=viewer,
            subscription_id=subscription_id,
            at_period_end=when != "now",
            clock=clock,
        )
    except AppError as exc:
        return _failed(request, exc)
    done = "canceled" if when == "now" else "cancel_at_period_end"
    return RedirectResponse(f"{HOME}/subscriptions/{subscription_id}?done={done}", status_code=303)


@router.post(HOME + "/subscriptions/{subscription_id}/resubscribe")
async def portal_resubscribe(
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
    csrf_token: CsrfField = None,
) -> Response:
    """A new checkout for the same price, from the same wallet; it comes back here."""
    await access.limit(request)
    try:
        viewer = await access.viewer_of(request, session, clock)
        access.check_csrf(request, viewer, csrf_token)
        item = await service.find(session, viewer=viewer, subscription_id=subscription_id)
    except AppError as exc:
        return _failed(request, exc)
    settings = request.app.state.settings
    back = f"{access.public_url(request)}{HOME}/subscriptions/{subscription_id}"
    checkout = await create_session(
        session,
        workspace_id=item.subscription.workspace_id,
        mode=item.subscription.mode,
        price_id=item.price.id,
        quantity=item.subscription.quantity,
        registry=registry,
        gateway=gateway,
        clock=clock,
        permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
        customer_address=item.customer.address,
        success_url=f"{access.public_url(request)}{HOME}",
        cancel_url=back,
    )
    url = checkout_page_url("", checkout.id, secret=access.secret(request))
    return RedirectResponse(url, status_code=303)


@router.post(HOME + "/sign-out")
async def portal_sign_out(
    request: Request, session: SessionDep, clock: ClockDep, csrf_token: CsrfField = None
) -> Response:
    try:
        viewer = await access.viewer_of(request, session, clock)
    except PortalSignInRequired:
        viewer = None
    if viewer is not None:
        try:
            access.check_csrf(request, viewer, csrf_token)
        except PortalCsrfInvalid as exc:
            return _failed(request, exc)
        await sessions.sign_out(session, viewer=viewer, now=clock.now())
    response = RedirectResponse(HOME, status_code=303)
    access.clear_cookie(request, response)
    return response
