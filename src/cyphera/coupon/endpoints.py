"""``/v1/coupons``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.auth.resources import get_scoped, list_scoped
from cyphera.coupon import service
from cyphera.coupon.schemas import (
    Coupon,
    CouponCreate,
    CouponListParams,
    CouponUpdate,
    DeletedCoupon,
)
from cyphera.kit.pagination import ListObject
from cyphera.models import Coupon as CouponModel

router = APIRouter(tags=["Coupons"])
COUPONS = "/v1/coupons"


@router.post(
    COUPONS,
    summary="Create a coupon",
    description="Exactly one of `percent_off` (0 < x ≤ 100, two decimals; the discount is "
    "floor(subtotal × percent_off / 100) cents) and `amount_off` with `currency` (never takes an "
    "invoice below zero). `duration`: `once`, `repeating` (with `duration_in_months`, 1–120) or "
    "`forever`.",
)
async def create_coupon(
    body: CouponCreate, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> Coupon:
    return Coupon.from_model(
        await service.create_coupon(session, scope=auth.scope, data=body, clock=clock)
    )


@router.get(COUPONS, summary="List coupons")
async def list_coupons(
    params: Annotated[CouponListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Coupon]:
    page = await list_scoped(session, CouponModel, auth.scope, params.page_request())
    return ListObject[Coupon](
        data=[Coupon.from_model(c) for c in page.items], has_more=page.has_more, url=COUPONS
    )


@router.get(COUPONS + "/{coupon_id}", summary="Retrieve a coupon")
async def get_coupon(coupon_id: str, auth: AuthDep, session: SessionDep) -> Coupon:
    return Coupon.from_model(await get_scoped(session, CouponModel, coupon_id, auth.scope))


@router.post(
    COUPONS + "/{coupon_id}",
    summary="Update a coupon",
    description="Only `name` and `metadata` can change; the terms of a coupon are fixed.",
)
async def update_coupon(
    coupon_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[CouponUpdate | None, Body()] = None,
) -> Coupon:
    coupon = await service.update_coupon(
        session, scope=auth.scope, coupon_id=coupon_id, data=body or CouponUpdate(), clock=clock
    )
    return Coupon.from_model(coupon)


@router.delete(
    COUPONS + "/{coupon_id}",
    summary="Delete a coupon",
    description="It can no longer be applied (`valid` becomes false); the discounts it already "
    "gave keep applying.",
)
async def delete_coupon(
    coupon_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> DeletedCoupon:
    coupon = await service.delete_coupon(
        session, scope=auth.scope, coupon_id=coupon_id, clock=clock
    )
    return DeletedCoupon(id=coupon.id)
