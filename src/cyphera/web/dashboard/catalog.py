"""The dashboard's products and prices: list them, create them, archive a price.

Forms become the API's own request models (`forms.form_model`), so they are refused where the
API would refuse the same body; creating needs ``manage_billing``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.scope import Scope
from cyphera.catalog import service as catalog
from cyphera.catalog.schemas import PriceCreate, PriceUpdate, ProductCreate
from cyphera.kit.pagination import PageRequest
from cyphera.models.price import PriceType
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.forms import cents, form_model, whole_number
from cyphera.web.dashboard.frame import frame, next_cursor, pages_of

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
Text = Annotated[str, Form()]
CsrfField = Annotated[str | None, Form(alias="csrf_token")]
PRICES_SHOWN = 20


async def offered_prices(session: AsyncSession, scope: Scope) -> dict[str, str]:
    """The scope's active recurring prices (the first 100), each labelled "Product · $19.99 per
    month": what a payment link or a price change may choose."""
    prices = await catalog.list_prices(
        session, scope=scope, page=PageRequest(limit=100), active=True, type=PriceType.RECURRING
    )
    labels = {}
    for price in prices.items:
        product = await catalog.get_product(session, scope=scope, product_id=price.product_id)
        labels[price.id] = f"{product.name} · {words.price_of(price)}"
    return labels


@router.get(WS + "/products", response_class=HTMLResponse)
async def dashboard_products(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
    done: str = "",
) -> Response:
    found = await catalog.list_products(
        session, scope=acting.scope, page=PageRequest(limit=25, starting_after=starting_after)
    )
    products = []
    for product in found.items:
        prices = await catalog.list_prices(
            session, scope=acting.scope, page=PageRequest(limit=PRICES_SHOWN), product_id=product.id
        )
        products.append(
            {
                "id": product.id,
                "name": product.name,
                "description": product.description,
                "active": product.active,
                "prices": [
                    {
                        "id": p.id,
                        "label": words.price_of(p),
                        "trial": p.trial_period_days,
                        "active": p.active,
                    }
                    for p in prices.items
                ],
            }
        )
    context = await frame(request, session, acting, "products")
    context |= {
        "products": products,
        "next": next_cursor(found),
        "done": done,
    }
    return pages_of(request).render("dashboard/products.html", context)


@router.post(WS + "/products")
async def dashboard_create_product(
    acting: ChangingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    name: Text = "",
    description: Text = "",
) -> Response:
    data = form_model(
        ProductCreate, {"name": name, **({"description": description} if description else {})}
    )
    await catalog.create_product(session, scope=acting.scope, data=data, clock=clock)
    return RedirectResponse(f"{acting.base}/products?done=product", status_code=303)


@router.post(WS + "/products/{product_id}/prices")
async def dashboard_create_price(
    acting: ChangingDep,
    product_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    amount: Text = "",
    interval: Text = "month",
    interval_count: Text = "1",
    trial_days: Text = "",
) -> Response:
    recurring: dict[str, object] = {
        "interval": interval,
        "interval_count": whole_number(interval_count, "interval_count"),
    }
    if trial_days.strip():
        recurring["trial_period_days"] = whole_number(trial_days, "trial_days")
    data = form_model(
        PriceCreate,
        {
            "product": product_id,
            "unit_amount": cents(amount),
            "currency": "usd",
            "recurring": recurring,
        },
    )
    await catalog.create_price(session, scope=acting.scope, data=data, clock=clock)
    return RedirectResponse(f"{acting.base}/products?done=price", status_code=303)


@router.post(WS + "/prices/{price_id}/archive")
async def dashboard_archive_price(
    acting: ChangingDep,
    price_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
) -> Response:
    await catalog.update_price(
        session,
        scope=acting.scope,
        price_id=price_id,
        data=PriceUpdate(active=False),
        clock=clock,
    )
    return RedirectResponse(f"{acting.base}/products?done=archived", status_code=303)
