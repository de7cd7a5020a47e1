"""Endpoints of the billing objects: subscriptions (read and lifecycle actions), invoices, payments.

A subscription's status is never a parameter: it changes only through the actions below
(cancel, pause, resume) and through billing, each a transition checked by
`cyphera.subscription.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from functools import partial
from typing import Annotated, Protocol

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.context import AuthContext
from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.auth.resources import get_scoped, list_scoped
from cyphera.auth.scope import Scope
from cyphera.kit.clock import Clock, to_unix
from cyphera.kit.hosted import hosted_secret
from cyphera.kit.pagination import ListObject
from cyphera.models import Invoice as InvoiceModel
from cyphera.models import Payment as PaymentModel
from cyphera.models import Subscription as SubscriptionModel
from cyphera.subscription import actions, changes, lifecycle
from cyphera.subscription.change_schemas import (
    PreviewChangeParams,
    ProrationLine,
    SubscriptionChangePreview,
    SubscriptionUpdate,
    UpcomingInvoice,
)
from cyphera.subscription.invoice_schemas import (
    Invoice,
    InvoiceListParams,
    Payment,
    PaymentListParams,
)
from cyphera.subscription.invoice_views import invoice_bodies
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import ProrationBehavior
from cyphera.subscription.schemas import (
    Subscription,
    SubscriptionCancel,
    SubscriptionListParams,
    SubscriptionPause,
    SubscriptionResume,
)
from cyphera.testclock import clock as test_clocks

router = APIRouter()


class _Action(Protocol):
    """An action on one subscription (`actions.cancel`, `changes.update`, …), its own arguments
    bound."""

    def __call__(
        self, session: AsyncSession, *, scope: Scope, subscription_id: str, clock: Clock
    ) -> Awaitable[SubscriptionModel]: ...


async def _act(
    action: _Action, subscription_id: str, auth: AuthContext, session: AsyncSession, clock: Clock
) -> Subscription:
    """Run `action` at the subscription's time (its test clock's, if any); its view."""
    subscription = await action(
        session,
        scope=auth.scope,
        subscription_id=subscription_id,
        clock=await test_clocks.clock_for_subscription(session, auth.scope, subscription_id, clock),
    )
    return await lifecycle.view(session, subscription)


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
        data=[await lifecycle.view(session, s) for s in page.items],
        has_more=page.has_more,
        url="/v1/subscriptions",
    )


@router.get(
    "/v1/subscriptions/{subscription_id}", tags=["Subscriptions"], summary="Retrieve a subscription"
)
async def get_subscription(
    subscription_id: str, auth: AuthDep, session: SessionDep
) -> Subscription:
    return await lifecycle.view(
        session, await get_scoped(session, SubscriptionModel, subscription_id, auth.scope)
    )


@router.post(
    "/v1/subscriptions/{subscription_id}",
    tags=["Subscriptions"],
    summary="Update a subscription",
    description="Set or clear `cancel_at_period_end`, change the price and/or the quantity "
    "(with a proration behaviour; preview it with `GET /v1/subscriptions/{id}/preview_change`), "
    "apply a `coupon`, or merge `metadata`. A change whose amount per period (price × "
    "quantity) exceeds the customer's on-chain permission, or a price that bills on another "
    "interval, does not change anything yet: the subscription comes "
    "back with a `pending_update` holding a checkout session (`subscription_update`) for the "
    "customer to grant the new permission; completing it applies the change, with its "
    "proration behaviour, under the new permission. Another interval resets the billing "
    "anchor: an active subscription is credited for the unused time and its new first period "
    "is invoiced at once.",
)
async def update_subscription(
    subscription_id: str,
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[SubscriptionUpdate | None, Body()] = None,
) -> Subscription:
    settings = request.app.state.settings
    update = partial(
        changes.update,
        data=body or SubscriptionUpdate(),
        requester=PermissionRequester(
            registry=request.app.state.registry,
            gateway=request.app.state.gateway,
            permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
            base_url=settings.api.public_url,
            hosted_secret=hosted_secret(environment=settings.environment),
        ),
    )
    return await _act(update, subscription_id, auth, session, clock)


@router.delete(
    "/v1/subscriptions/{subscription_id}",
    tags=["Subscriptions"],
    summary="Cancel a subscription now",
    description="Same as `POST /v1/subscriptions/{id}/cancel` without `at_period_end`.",
)
async def delete_subscription(
    subscription_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> Subscription:
    return await _act(actions.cancel, subscription_id, auth, session, clock)


@router.post(
    "/v1/subscriptions/{subscription_id}/cancel",
    tags=["Subscriptions"],
    summary="Cancel a subscription",
    description="Now (default): the subscription is `canceled` and its open invoices are voided, "
    "except one whose payment is already in flight (its outcome settles it); nothing is charged "
    "afterwards, even by a collection already queued. With `at_period_end`: it stays as it is "
    "until the current period ends, then ends without another charge; undo with "
    "`POST /v1/subscriptions/{id}` and `cancel_at_period_end=false`.",
)
async def cancel_subscription(
    subscription_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[SubscriptionCancel | None, Body()] = None,
) -> Subscription:
    at_period_end = (body or SubscriptionCancel()).at_period_end
    cancel = partial(actions.cancel, at_period_end=at_period_end)
    return await _act(cancel, subscription_id, auth, session, clock)


@router.post(
    "/v1/subscriptions/{subscription_id}/pause",
    tags=["Subscriptions"],
    summary="Pause a subscription",
    description="An active or past-due subscription stops renewing and charging; its open "
    "invoices are voided. With `resumes_at` it resumes by itself then.",
)
async def pause_subscription(
    subscription_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[SubscriptionPause | None, Body()] = None,
) -> Subscription:
    pause = partial(actions.pause, resumes_at=(body or SubscriptionPause()).resumes_at)
    return await _act(pause, subscription_id, auth, session, clock)


@router.post(
    "/v1/subscriptions/{subscription_id}/resume",
    tags=["Subscriptions"],
    summary="Resume a paused subscription",
    description="Before the paid period ends, the schedule simply continues. After it, the "
    "billing cycle is re-anchored at the moment of the resume and the new period is invoiced and "
    "charged at once.",
)
async def resume_subscription(
    subscription_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[SubscriptionResume | None, Body()] = None,
) -> Subscription:
    return await _act(actions.resume, subscription_id, auth, session, clock)


@router.get(
    "/v1/subscriptions/{subscription_id}/preview_change",
    tags=["Subscriptions"],
    summary="Preview a change of price or quantity",
    description="The prorations (integer cents, each line floored in the customer's favour), "
    "what would be charged now and the next invoice, if the price and/or the quantity changed "
    "now (give at least one; the other stays current). Nothing changes; a change that would be "
    "refused is refused here the same way.",
)
async def preview_subscription_change(
    subscription_id: str,
    params: Annotated[PreviewChangeParams, Query()],
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
) -> SubscriptionChangePreview:
    change = await changes.preview_change(
        session,
        scope=auth.scope,
        subscription_id=subscription_id,
        price_id=params.price,
        quantity=params.quantity,
        behavior=ProrationBehavior(params.proration_behavior),
        clock=await test_clocks.clock_for_subscription(session, auth.scope, subscription_id, clock),
    )
    return SubscriptionChangePreview(
        subscription=change.subscription.id,
        price=change.new_price.id,
        quantity=change.new_quantity,
        proration_behavior=change.behavior.value,
        proration_date=to_unix(change.at),
        currency=change.new_price.currency,
        lines=[
            ProrationLine(
                description=line.description,
                amount=line.amount,
                price=line.price_id,
                period_start=to_unix(line.period_start),
                period_end=to_unix(line.period_end),
            )
            for line in change.lines
        ],
        proration_amount=change.proration_amount,
        amount_due_now=change.amount_due_now,
        proration_balance=change.proration_balance,
        next_invoice=UpcomingInvoice(
            period_start=to_unix(change.next_period_start),
            period_end=to_unix(change.next_period_end),
            amount_due=change.next_amount_due,
        ),
        requires_new_permission=change.requires_new_permission,
        new_permission_cap=change.new_permission_cap,
        resets_billing_anchor=change.resets_billing_anchor,
    )


@router.get("/v1/invoices", tags=["Invoices"], summary="List invoices")
async def list_invoices(
    params: Annotated[InvoiceListParams, Query()],
    request: Request,
    auth: AuthDep,
    session: SessionDep,
) -> ListObject[Invoice]:
    filters = []
    if params.subscription is not None:
        filters.append(InvoiceModel.subscription_id == params.subscription)
    page = await list_scoped(session, InvoiceModel, auth.scope, params.page_request(), *filters)
    return ListObject[Invoice](
        data=await invoice_bodies(session, request, page.items),
        has_more=page.has_more,
        url="/v1/invoices",
    )


@router.get("/v1/invoices/{invoice_id}", tags=["Invoices"], summary="Retrieve an invoice")
async def get_invoice(
    invoice_id: str, request: Request, auth: AuthDep, session: SessionDep
) -> Invoice:
    invoice = await get_scoped(session, InvoiceModel, invoice_id, auth.scope)
    return (await invoice_bodies(session, request, [invoice]))[0]


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
