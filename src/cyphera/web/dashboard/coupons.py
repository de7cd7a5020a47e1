"""The dashboard's coupons: the list, and a "New coupon" form for members with ``manage_billing``.

The form becomes the API's `CouponCreate` (`forms.form_model`) and goes through the coupon
service the API uses, so it is refused where ``POST /v1/coupons`` would refuse the same body; a
refusal is shown beside the form (400, the typed values kept), never as a page of its own.
Amounts off are typed in dollars and cents and become integer cents (`forms.cents`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.resources import list_scoped
from cyphera.catalog.service import SUPPORTED_CURRENCIES
from cyphera.coupon import service as coupons
from cyphera.coupon.schemas import CouponCreate
from cyphera.exceptions import InvalidRequest
from cyphera.kit.pagination import PageRequest
from cyphera.models import Coupon
from cyphera.models.coupon import CouponDuration
from cyphera.subscription.invoice_lines import coupon_label
from cyphera.web.dashboard import access
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.forms import (
    cents,
    decimal_number,
    end_of_day,
    error_status,
    form_error,
    form_model,
    whole_number,
)
from cyphera.web.dashboard.lists import PAGE_SIZE, Cell, render_table

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
Text = Annotated[str, Form()]


def _duration(c: Coupon) -> str:
    months = f" ({c.duration_in_months} months)" if c.duration_in_months else ""
    return c.duration.value + months


def _redeemed(c: Coupon) -> str:
    limit = f" of {c.max_redemptions}" if c.max_redemptions is not None else ""
    return f"{c.times_redeemed}{limit}"


async def _coupons_page(
    request: Request,
    session: SessionDep,
    acting: access.Acting,
    *,
    starting_after: str | None = None,
    done: str = "",
    error: InvalidRequest | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    page = await list_scoped(
        session,
        Coupon,
        acting.scope,
        PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
        Coupon.deleted_at.is_(None),
    )
    return await render_table(
        request,
        session,
        acting,
        section="coupons",
        title="Coupons",
        empty="No coupons yet.",
        columns=["Coupon", "Off", "Duration", "Redeemed", "Valid"],
        page=page,
        cells=lambda c: [
            Cell(c.id, mono=True),
            Cell(coupon_label(c)),
            Cell(_duration(c)),
            Cell(_redeemed(c)),
            Cell("yes" if c.valid else "no"),
        ],
        template="dashboard/coupons.html",
        extra={
            "done": done,
            "error": form_error(error),
            "form": form or {"kind": "percent", "duration": "once", "currency": "usd"},
            "currencies": SUPPORTED_CURRENCIES,
            "durations": [d.value for d in CouponDuration],
        },
        status_code=error_status(error),
    )


@router.get(WS + "/coupons", response_class=HTMLResponse)
async def dashboard_coupons(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
    done: str = "",
) -> Response:
    return await _coupons_page(request, session, acting, starting_after=starting_after, done=done)


def coupon_body(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as `CouponCreate`'s body: only the kind of discount chosen, months only
    for a repeating coupon, empty optional fields left out."""
    body: dict[str, Any] = {"duration": form["duration"]}
    if form["name"].strip():
        body["name"] = form["name"].strip()
    if form["kind"] == "amount":
        body["amount_off"] = cents(form["amount_off"], param="amount_off")
        body["currency"] = form["currency"]
    else:
        # The API's field is a JSON number; the service keeps it exactly (basis points).
        body["percent_off"] = float(decimal_number(form["percent_off"], "percent_off"))
    if form["duration"] == CouponDuration.REPEATING.value and form["duration_in_months"].strip():
        body["duration_in_months"] = whole_number(form["duration_in_months"], "duration_in_months")
    if form["max_redemptions"].strip():
        body["max_redemptions"] = whole_number(form["max_redemptions"], "max_redemptions")
    if form["redeem_by"].strip():
        body["redeem_by"] = end_of_day(form["redeem_by"], "redeem_by")
    return body


@router.post(WS + "/coupons", response_class=HTMLResponse)
async def dashboard_create_coupon(
    acting: ChangingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    name: Text = "",
    kind: Text = "percent",
    percent_off: Text = "",
    amount_off: Text = "",
    currency: Text = "usd",
    duration: Text = "once",
    duration_in_months: Text = "",
    max_redemptions: Text = "",
    redeem_by: Text = "",
) -> Response:
    form = {
        "name": name,
        "kind": kind,
        "percent_off": percent_off,
        "amount_off": amount_off,
        "currency": currency,
        "duration": duration,
        "duration_in_months": duration_in_months,
        "max_redemptions": max_redemptions,
        "redeem_by": redeem_by,
    }
    try:
        data = form_model(CouponCreate, coupon_body(form))
        coupon = await coupons.create_coupon(session, scope=acting.scope, data=data, clock=clock)
    except InvalidRequest as exc:
        return await _coupons_page(request, session, acting, error=exc, form=form)
    access.describe(request, "coupon.created", object_type="coupon", object_id=coupon.id)
    return RedirectResponse(f"{acting.base}/coupons?done=created", status_code=303)
