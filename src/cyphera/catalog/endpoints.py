"""``/v1/products`` and ``/v1/prices``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.catalog import service
from cyphera.catalog.schemas import (
    Price,
    PriceCreate,
    PriceListParams,
    PriceUpdate,
    Product,
    ProductCreate,
    ProductListParams,
    ProductUpdate,
)
from cyphera.kit.pagination import ListObject
from cyphera.models.price import PriceType

router = APIRouter()

PRODUCTS = "/v1/products"
PRICES = "/v1/prices"


@router.post(PRODUCTS, tags=["Products"], summary="Create a product")
async def create_product(
    body: ProductCreate, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> Product:
    product = await service.create_product(session, scope=auth.scope, data=body, clock=clock)
    return Product.from_model(product)


@router.get(PRODUCTS, tags=["Products"], summary="List products")
async def list_products(
    params: Annotated[ProductListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Product]:
    page = await service.list_products(
        session, scope=auth.scope, page=params.page_request(), active=params.active
    )
    return ListObject[Product](
        data=[Product.from_model(p) for p in page.items], has_more=page.has_more, url=PRODUCTS
    )


@router.get(PRODUCTS + "/{product_id}", tags=["Products"], summary="Retrieve a product")
async def get_product(product_id: str, auth: AuthDep, session: SessionDep) -> Product:
    product = await service.get_product(session, scope=auth.scope, product_id=product_id)
    return Product.from_model(product)


@router.post(PRODUCTS + "/{product_id}", tags=["Products"], summary="Update a product")
async def update_product(
    product_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[ProductUpdate | None, Body()] = None,
) -> Product:
    product = await service.update_product(
        session,
        scope=auth.scope,
        product_id=product_id,
        data=body or ProductUpdate(),
        clock=clock,
    )
    return Product.from_model(product)


@router.post(PRICES, tags=["Prices"], summary="Create a price")
async def create_price(
    body: PriceCreate, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> Price:
    price = await service.create_price(session, scope=auth.scope, data=body, clock=clock)
    return Price.from_model(price)


@router.get(PRICES, tags=["Prices"], summary="List prices")
async def list_prices(
    params: Annotated[PriceListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Price]:
    page = await service.list_prices(
        session,
        scope=auth.scope,
        page=params.page_request(),
        active=params.active,
        product_id=params.product,
        type=PriceType(params.type) if params.type else None,
    )
    return ListObject[Price](
        data=[Price.from_model(p) for p in page.items], has_more=page.has_more, url=PRICES
    )


@router.get(PRICES + "/{price_id}", tags=["Prices"], summary="Retrieve a price")
async def get_price(price_id: str, auth: AuthDep, session: SessionDep) -> Price:
    price = await service.get_price(session, scope=auth.scope, price_id=price_id)
    return Price.from_model(price)


@router.post(
    PRICES + "/{price_id}",
    tags=["Prices"],
    summary="Update a price",
    description="Prices are immutable: only `active` and `metadata` can change. "
    "To charge a different amount or interval, create a new price.",
)
async def update_price(
    price_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[PriceUpdate | None, Body()] = None,
) -> Price:
    price = await service.update_price(
        session, scope=auth.scope, price_id=price_id, data=body or PriceUpdate(), clock=clock
    )
    return Price.from_model(price)
