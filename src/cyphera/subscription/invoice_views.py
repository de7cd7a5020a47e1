"""The invoice JSON with its lines, discount and hosted page URL; ``GET /v1/invoices/{id}/lines``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.dependencies import AuthDep, SessionDep
from cyphera.auth.resources import get_scoped
from cyphera.config import Environment
from cyphera.coupon.schemas import Discount
from cyphera.invoice import service as invoices
from cyphera.invoice.page import hosted_invoice_url
from cyphera.kit.hosted import HostedSecretInvalid, hosted_secret
from cyphera.models import Coupon, InvoiceLineItem
from cyphera.models import Discount as DiscountModel
from cyphera.models import Invoice as InvoiceModel
from cyphera.subscription.invoice_schemas import Invoice, InvoiceLine, InvoiceLines

router = APIRouter()


def _url_builder(request: Request) -> Callable[[str], str] | None:
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        return None
    environment = getattr(settings, "environment", Environment.DEVELOPMENT)
    try:
        secret = hosted_secret(environment=environment)
    except HostedSecretInvalid:
        return None
    base_url = settings.api.public_url

    def build(invoice_id: str) -> str:
        return hosted_invoice_url(invoice_id, base_url=base_url, secret=secret)

    return build


async def invoice_bodies(
    session: AsyncSession, request: Request, rows: Sequence[InvoiceModel]
) -> list[Invoice]:
    """The API representation of `rows` (lines, discount and hosted page URL included)."""
    lines = await invoices.lines_of(session, [row.id for row in rows])
    discount_ids = {
        line.discount_id for found in lines.values() for line in found if line.discount_id
    }
    discounts: dict[str, Discount] = {}
    if discount_ids:
        for discount, coupon in await session.execute(
            select(DiscountModel, Coupon)
            .join(Coupon, Coupon.id == DiscountModel.coupon_id)
            .where(DiscountModel.id.in_(discount_ids))
        ):
            discounts[discount.id] = Discount.from_model(discount, coupon)
    build = _url_builder(request)
    bodies = []
    for row in rows:
        mine = lines.get(row.id, [])
        applied = next((line.discount_id for line in mine if line.discount_id), None)
        bodies.append(
            Invoice.from_model(
                row,
                lines=mine,
                discount=discounts.get(applied) if applied else None,
                hosted_invoice_url=build(row.id) if build else None,
            )
        )
    return bodies


@router.get(
    "/v1/invoices/{invoice_id}/lines",
    tags=["Invoices"],
    summary="List an invoice's lines",
    description="All of them, in order; they add up exactly to the invoice's `total`.",
)
async def list_invoice_lines(invoice_id: str, auth: AuthDep, session: SessionDep) -> InvoiceLines:
    invoice = await get_scoped(session, InvoiceModel, invoice_id, auth.scope)
    found: list[InvoiceLineItem] = (await invoices.lines_of(session, [invoice.id])).get(
        invoice.id, []
    )
    return InvoiceLines(
        data=[InvoiceLine.from_model(line, invoice.currency) for line in found],
        url=f"/v1/invoices/{invoice.id}/lines",
    )
