"""The dashboard's checkout sessions: the list, and a form that makes one for an offered price.

The form becomes the API's `CheckoutSessionCreate` and goes through the checkout service the API
uses (`cyphera.checkout.service.create_session`), with the API's defaults: every network of the
page's mode with a payout address, every token they carry. The answer shows the new session's
hosted checkout URL (with a copy button) for the merchant to send, after a redirect (reloading
makes no second session); a refusal (no payout address,
an archived price …) is shown beside the form. Making one needs ``manage_billing``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.resources import list_scoped
from cyphera.auth.roles import Capability
from cyphera.checkout import service as checkouts
from cyphera.checkout.schemas import CheckoutSessionCreate
from cyphera.exceptions import InvalidRequest
from cyphera.kit.hosted import checkout_page_url, hosted_secret
from cyphera.kit.money import format_cents
from cyphera.kit.pagination import PageRequest
from cyphera.models import CheckoutSession
from cyphera.payment.dependencies import GatewayDep, RegistryDep
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.catalog import offered_prices
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.forms import error_status, form_error, form_model, whole_number
from cyphera.web.dashboard.lists import PAGE_SIZE, Cell, render_table

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
Text = Annotated[str, Form()]


def _page_url(request: Request, checkout_id: str) -> str:
    settings = request.app.state.settings
    secret = hosted_secret(environment=settings.environment)
    return checkout_page_url(str(settings.api.public_url), checkout_id, secret=secret)


async def _checkouts_page(
    request: Request,
    session: SessionDep,
    acting: access.Acting,
    *,
    starting_after: str | None = None,
    created: dict[str, str] | None = None,
    error: InvalidRequest | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    page = await list_scoped(
        session,
        CheckoutSession,
        acting.scope,
        PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
    )
    offered = (
        await offered_prices(session, acting.scope) if acting.can(Capability.MANAGE_BILLING) else {}
    )
    return await render_table(
        request,
        session,
        acting,
        section="checkout_sessions",
        title="Checkout sessions",
        empty="No checkout sessions yet.",
        columns=["Session", "Amount", "Customer email", "Status", "Expires", "Subscription"],
        page=page,
        cells=lambda c: [
            Cell(c.id, href=_page_url(request, c.id), mono=True),
            Cell(format_cents(c.amount_cents)),
            Cell(c.customer_email or "—"),
            Cell(c.status.value),
            Cell(words.moment(c.expires_at)),
            Cell(
                c.subscription_id or "—",
                href=f"{acting.base}/subscriptions/{c.subscription_id}"
                if c.subscription_id
                else None,
                mono=True,
            ),
        ],
        template="dashboard/checkout_sessions.html",
        extra={
            "prices": [{"id": pid, "label": label} for pid, label in offered.items()],
            "created": created,
            "error": form_error(error),
            "form": form or {"quantity": "1"},
        },
        status_code=error_status(error),
    )


@router.get(WS + "/checkout_sessions", response_class=HTMLResponse)
async def dashboard_checkout_sessions(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
    created: str = "",
) -> Response:
    made = None
    if created:  # the session just made (PRG: reloading shows it again, makes no other)
        checkout = await checkouts.get_session(
            session,
            workspace_id=acting.scope.workspace_id,
            mode=acting.scope.mode,
            checkout_id=created,
        )
        made = {"id": checkout.id, "url": _page_url(request, checkout.id)}
    return await _checkouts_page(
        request, session, acting, starting_after=starting_after, created=made
    )


@router.post(WS + "/checkout_sessions", response_class=HTMLResponse)
async def dashboard_create_checkout_session(
    acting: ChangingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
    price: Text = "",
    quantity: Text = "1",
    customer_email: Text = "",
) -> Response:
    form = {"price": price, "quantity": quantity, "customer_email": customer_email}
    settings = request.app.state.settings
    try:
        body: dict[str, Any] = {"price": price, "quantity": whole_number(quantity, "quantity")}
        if customer_email.strip():
            body["customer_email"] = customer_email.strip()
        data = form_model(CheckoutSessionCreate, body)
        checkout = await checkouts.create_session(
            session,
            workspace_id=acting.scope.workspace_id,
            mode=acting.scope.mode,
            price_id=data.price,
            quantity=data.quantity,
            customer_email=data.customer_email,
            registry=registry,
            gateway=gateway,
            clock=clock,
            permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
        )
    except InvalidRequest as exc:
        return await _checkouts_page(request, session, acting, error=exc, form=form)
    access.describe(
        request, "checkout.session.created", object_type="checkout.session", object_id=checkout.id
    )
    return RedirectResponse(
        f"{acting.base}/checkout_sessions?created={checkout.id}", status_code=303
    )
