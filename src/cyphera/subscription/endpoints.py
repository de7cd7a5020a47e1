"""Read endpoints of the billing objects: subscriptions, invoices, payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cyphera.auth.dependencies import AuthDep, SessionDep
from cyphera.auth.resources import get_scoped, list_scoped
from cyphera.kit.pagination import ListObject
from cyphera.models import Invoice as InvoiceModel
from cyphera.models import Payment as PaymentModel
from cyphera.models import Subscription as SubscriptionModel
from cyphera.subscription.schemas import (
    Invoice,
    InvoiceListParams,
    Payment,
    PaymentListParams,
    Subscription,
    SubscriptionListParams,
)

router = APIRouter()


@router.get("/v1/subscriptions", tags=["Subscriptions"], summary="List subscriptions")
async def list_subscriptions(
    params: Annotated[SubscriptionListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Subscription]:
    filters = []
    if params.customer is not None:
        filters.append(SubscriptionModel.customer_id == params.customer)
    if params.status is not None:
        filters.append(SubscriptionModel.status == params.status)
    page = await list_scoped(
        session, SubscriptionModel, auth.scope, params.page_request(), *filters
    )
    return ListObject[Subscription](
        data=[Subscription.from_model(s) for s in page.items],
        has_more=page.has_more,
        url="/v1/subscriptions",
    )


@router.get(
    "/v1/subscriptions/{subscription_id}", tags=["Subscriptions"], summary="Retrieve a subscription"
)
async def get_subscription(
    subscription_id: str, auth: AuthDep, session: SessionDep
) -> Subscription:
    return Subscription.from_model(
        await get_scoped(session, SubscriptionModel, subscription_id, auth.scope)
    )


@router.get("/v1/invoices", tags=["Invoices"], summary="List invoices")
async def list_invoices(
    params: Annotated[InvoiceListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Invoice]:
    filters = []
    if params.subscription is not None:
        filters.append(InvoiceModel.subscription_id == params.subscription)
    page = await list_scoped(session, InvoiceModel, auth.scope, params.page_request(), *filters)
    return ListObject[Invoice](
        data=[Invoice.from_model(i) for i in page.items], has_more=page.has_more, url="/v1/invoices"
    )


@router.get("/v1/invoices/{invoice_id}", tags=["Invoices"], summary="Retrieve an invoice")
async def get_invoice(invoice_id: str, auth: AuthDep, session: SessionDep) -> Invoice:
    return Invoice.from_model(await get_scoped(session, InvoiceModel, invoice_id, auth.scope))


@router.get("/v1/payments", tags=["Payments"], summary="List payments")
async def list_payments(
    params: Annotated[PaymentListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Payment]:
    filters = []
    if params.invoice is not None:
        filters.append(PaymentModel.invoice_id == params.invoice)
    page = await list_scoped(session, PaymentModel, auth.scope, params.page_request(), *filters)
    return ListObject[Payment](
        data=[Payment.from_model(p) for p in page.items], has_more=page.has_more, url="/v1/payments"
    )


@router.get("/v1/payments/{payment_id}", tags=["Payments"], summary="Retrieve a payment")
async def get_payment(payment_id: str, auth: AuthDep, session: SessionDep) -> Payment:
    return Payment.from_model(await get_scoped(session, PaymentModel, payment_id, auth.scope))
