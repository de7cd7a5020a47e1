"""``/v1/payment_links``: reusable links for a price, and their QR codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.kit.pagination import ListObject
from cyphera.models import PaymentLink as PaymentLinkModel
from cyphera.payment.dependencies import RegistryDep
from cyphera.paymentlink import service
from cyphera.paymentlink.qr import qr_svg
from cyphera.paymentlink.schemas import (
    PaymentLink,
    PaymentLinkCreate,
    PaymentLinkListParams,
    PaymentLinkUpdate,
)

router = APIRouter(tags=["Payment links"])
PATH = "/v1/payment_links"
SVG = "image/svg+xml"
_SVG_EXAMPLE = (
    '<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
    'width="164" height="164" class="segno"><path transform="scale(4)" class="qrline" '
    'stroke="#000" d="M4 4.5h7m1 0h1…"/></svg>'
)


def public_url(request: Request, link: PaymentLinkModel) -> str:
    """The link's page on this deployment's public URL."""
    return service.link_url(request.app.state.settings.api.public_url, link.id)


def _public(request: Request, link: PaymentLinkModel) -> PaymentLink:
    return PaymentLink.from_model(link, url=public_url(request, link))


def qr_response(request: Request, link: PaymentLinkModel) -> Response:
    return Response(qr_svg(public_url(request, link), title="Payment link QR code"), media_type=SVG)


@router.post(
    PATH,
    summary="Create a payment link",
    description="A reusable URL for one active recurring price: every visit of `url` opens a "
    "new checkout session and sends the customer to its hosted page. Price, networks and tokens "
    "are checked as a checkout session's are, now and again at every visit.",
)
async def create_payment_link(
    body: PaymentLinkCreate,
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
) -> PaymentLink:
    link = await service.create_link(
        session, scope=auth.scope, data=body, registry=registry, clock=clock
    )
    return _public(request, link)


@router.get(PATH, summary="List payment links")
async def list_payment_links(
    params: Annotated[PaymentLinkListParams, Query()],
    request: Request,
    auth: AuthDep,
    session: SessionDep,
) -> ListObject[PaymentLink]:
    page = await service.list_links(
        session, scope=auth.scope, page=params.page_request(), active=params.active
    )
    return ListObject[PaymentLink](
        data=[_public(request, link) for link in page.items], has_more=page.has_more, url=PATH
    )


@router.get(PATH + "/{payment_link_id}", summary="Retrieve a payment link")
async def get_payment_link(
    payment_link_id: str, request: Request, auth: AuthDep, session: SessionDep
) -> PaymentLink:
    link = await service.get_link(session, scope=auth.scope, link_id=payment_link_id)
    return _public(request, link)


@router.post(
    PATH + "/{payment_link_id}",
    summary="Update a payment link",
    description="`active: false` deactivates it: its page says so and opens no session. "
    "The price and quantity are fixed: make a new link to sell something else.",
)
async def update_payment_link(
    payment_link_id: str,
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[PaymentLinkUpdate | None, Body()] = None,
) -> PaymentLink:
    link = await service.update_link(
        session,
        scope=auth.scope,
        link_id=payment_link_id,
        data=body or PaymentLinkUpdate(),
        clock=clock,
    )
    return _public(request, link)


@router.get(
    PATH + "/{payment_link_id}/qr.svg",
    summary="Get a payment link's QR code",
    description="An SVG QR code of the link's `url`, to print or show on a screen.",
    response_class=Response,
    responses={200: {"content": {SVG: {"example": _SVG_EXAMPLE}}}},
)
async def get_payment_link_qr(
    payment_link_id: str, request: Request, auth: AuthDep, session: SessionDep
) -> Response:
    link = await service.get_link(session, scope=auth.scope, link_id=payment_link_id)
    return qr_response(request, link)
