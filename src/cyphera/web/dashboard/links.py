"""Payment links from the dashboard: list them, make one for a price, show its QR code, switch
one off. The links service is the API's (`cyphera.paymentlink.service`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.catalog import service as catalog
from cyphera.kit.pagination import PageRequest
from cyphera.payment.dependencies import RegistryDep
from cyphera.paymentlink import service as links
from cyphera.paymentlink.qr import qr_svg
from cyphera.paymentlink.schemas import PaymentLinkCreate, PaymentLinkUpdate
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.catalog import offered_prices
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.forms import form_model, whole_number
from cyphera.web.dashboard.frame import frame, next_cursor, pages_of

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
CsrfField = Annotated[str | None, Form(alias="csrf_token")]


def _public_url(request: Request, link_id: str) -> str:
    return links.link_url(str(request.app.state.settings.api.public_url), link_id)


@router.get(WS + "/payment_links", response_class=HTMLResponse)
async def dashboard_payment_links(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
    done: str = "",
) -> Response:
    found = await links.list_links(
        session, scope=acting.scope, page=PageRequest(limit=25, starting_after=starting_after)
    )
    offered = await offered_prices(session, acting.scope)
    labels = dict(offered)
    rows = []
    for link in found.items:
        if link.price_id not in labels:
            price = await catalog.get_price(session, scope=acting.scope, price_id=link.price_id)
            labels[link.price_id] = words.price_of(price)
        rows.append(
            {
                "id": link.id,
                "url": _public_url(request, link.id),
                "price": labels[link.price_id],
                "quantity": link.quantity,
                "active": link.active,
                "qr": f"{acting.base}/payment_links/{link.id}/qr.svg",
            }
        )
    context = await frame(request, session, acting, "payment_links")
    context |= {
        "links": rows,
        "prices": [{"id": pid, "label": label} for pid, label in offered.items()],
        "next": next_cursor(found),
        "done": done,
    }
    return pages_of(request).render("dashboard/payment_links.html", context)


@router.get(WS + "/payment_links/{link_id}/qr.svg")
async def dashboard_payment_link_qr(
    acting: ActingDep,
    link_id: str,
    request: Request,
    session: SessionDep,
) -> Response:
    link = await links.get_link(session, scope=acting.scope, link_id=link_id)
    svg = qr_svg(_public_url(request, link.id), title="Payment link QR code")
    return Response(svg, media_type="image/svg+xml")


@router.post(WS + "/payment_links")
async def dashboard_create_payment_link(
    acting: ChangingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    price: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "1",
) -> Response:
    data = form_model(
        PaymentLinkCreate, {"price": price, "quantity": whole_number(quantity, "quantity")}
    )
    await links.create_link(session, scope=acting.scope, data=data, registry=registry, clock=clock)
    return RedirectResponse(f"{acting.base}/payment_links?done=created", status_code=303)


@router.post(WS + "/payment_links/{link_id}/deactivate")
async def dashboard_deactivate_payment_link(
    acting: ChangingDep,
    link_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    await links.update_link(
        session,
        scope=acting.scope,
        link_id=link_id,
        data=PaymentLinkUpdate(active=False),
        clock=clock,
    )
    return RedirectResponse(f"{acting.base}/payment_links?done=deactivated", status_code=303)
