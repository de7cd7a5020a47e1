"""``GET /l/{plink_id}``: a payment link's public page, and its QR code.

No key: the link is public by design. Each visit of an active link opens a new checkout session
(`cyphera.paymentlink.service.open_checkout`) and answers ``303`` to its hosted page, so two
customers (or two tabs) never share a session. An unknown link is a 404 page; a deactivated
one, or one that can no longer sell (its price archived since), a 410 page. Visits count against
the checkout page's rate limit, per link and client address.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.checkout.errors import CheckoutError
from cyphera.kit.hosted import checkout_page_url
from cyphera.payment.dependencies import GatewayDep, RegistryDep
from cyphera.paymentlink import service
from cyphera.paymentlink.endpoints import qr_response
from cyphera.paymentlink.errors import PaymentLinkInactive, PaymentLinkNotFound
from cyphera.web.checkout import access
from cyphera.web.templating import Pages

router = APIRouter(include_in_schema=False)
PATH = service.PAGE_PATH + "/{plink_id}"
RATE_LIMIT_PREFIX = "plink:"


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


@router.get(PATH, response_class=HTMLResponse)
async def payment_link_page(
    plink_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
) -> Response:
    await access.limit(request, plink_id, prefix=RATE_LIMIT_PREFIX)
    settings = request.app.state.settings
    try:
        checkout = await service.open_checkout(
            session,
            link_id=plink_id,
            registry=registry,
            gateway=gateway,
            clock=clock,
            permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
        )
    except PaymentLinkNotFound:
        return _pages(request).render("paymentlink/not_found.html", {}, status_code=404)
    except (PaymentLinkInactive, CheckoutError):
        return _pages(request).render("paymentlink/inactive.html", {}, status_code=410)
    return RedirectResponse(
        checkout_page_url("", checkout.id, secret=access.hosted_key(request)), status_code=303
    )


@router.get(PATH + "/qr.svg")
async def payment_link_qr(plink_id: str, request: Request, session: SessionDep) -> Response:
    await access.limit(request, plink_id, prefix=RATE_LIMIT_PREFIX)
    try:
        link = await service.find_link(session, plink_id)
    except PaymentLinkNotFound:
        return _pages(request).render("paymentlink/not_found.html", {}, status_code=404)
    return qr_response(request, link)
