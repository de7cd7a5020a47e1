"""Changing a subscription's price or quantity from the dashboard: preview first, then confirm.

The preview is the API's (`cyphera.subscription.changes.preview_change`: what is charged now,
the next invoice and its date, whether the customer must first grant a larger permission); the
change is the API's update (`changes.update`), at the subscription's own time, with the same
`PermissionRequester`: a change above the customer's permission waits for their new grant and
the page says so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.exceptions import InvalidRequest
from cyphera.kit.hosted import hosted_secret
from cyphera.kit.money import format_cents
from cyphera.subscription import changes
from cyphera.subscription.change_schemas import SubscriptionUpdate
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import ProrationBehavior
from cyphera.subscription.service import get_subscription
from cyphera.testclock import clock as test_clocks
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.catalog import offered_prices
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.forms import form_model, whole_number
from cyphera.web.dashboard.frame import frame, pages_of

router = APIRouter(include_in_schema=False)
PATH = access.PATH + "/{workspace_id}/{mode}/subscriptions/{subscription_id}/change"
CsrfField = Annotated[str | None, Form(alias="csrf_token")]
BEHAVIORS = {
    ProrationBehavior.CREATE_PRORATIONS: "Prorate on the next invoice",
    ProrationBehavior.ALWAYS_INVOICE: "Prorate and charge now",
    ProrationBehavior.NONE: "No proration: the new price from the next period",
}


def _behavior(value: str) -> ProrationBehavior:
    try:
        return ProrationBehavior(value)
    except ValueError:
        raise InvalidRequest(
            f"choose one of {', '.join(b.value for b in ProrationBehavior)}",
            code="parameter_invalid",
            param="proration_behavior",
        ) from None


@router.get(PATH, response_class=HTMLResponse)
async def dashboard_change(
    acting: ActingDep,
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    price: str = "",
    quantity: str = "",
    behavior: str = ProrationBehavior.CREATE_PRORATIONS.value,
) -> Response:
    subscription = await get_subscription(
        session, scope=acting.scope, subscription_id=subscription_id
    )
    preview: dict[str, Any] | None = None
    if price:
        at = await test_clocks.clock_for(session, subscription, clock)
        change = await changes.preview_change(
            session,
            scope=acting.scope,
            subscription_id=subscription.id,
            behavior=_behavior(behavior),
            clock=at,
            price_id=price,
            quantity=whole_number(quantity, "quantity") if quantity else None,
        )
        preview = {
            "old": words.price_of(change.old_price, change.old_quantity),
            "new": words.price_of(change.new_price, change.new_quantity),
            "due_now": format_cents(max(change.amount_due_now, 0)),
            "next_amount": format_cents(change.next_amount_due),
            "next_date": words.date(change.next_period_start),
            "requires_new_permission": change.requires_new_permission,
            "cap": format_cents(change.new_permission_cap or 0),
            "resets_anchor": change.resets_billing_anchor,
        }
    labels = await offered_prices(session, acting.scope)
    context = await frame(request, session, acting, "subscriptions")
    context |= {
        "sub": subscription,
        "prices": [{"id": pid, "label": label} for pid, label in labels.items()],
        "chosen": {
            "price": price or subscription.price_id,
            "quantity": quantity or str(subscription.quantity),
            "behavior": behavior,
        },
        "behaviors": {b.value: label for b, label in BEHAVIORS.items()},
        "preview": preview,
    }
    return pages_of(request).render("dashboard/change.html", context)


@router.post(PATH)
async def dashboard_apply_change(
    acting: ChangingDep,
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    price: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "1",
    behavior: Annotated[str, Form()] = ProrationBehavior.CREATE_PRORATIONS.value,
) -> Response:
    settings = request.app.state.settings
    data = form_model(
        SubscriptionUpdate,
        {
            "price": price,
            "quantity": whole_number(quantity, "quantity"),
            "proration_behavior": _behavior(behavior).value,
        },
    )
    changed = await changes.update(
        session,
        scope=acting.scope,
        subscription_id=subscription_id,
        data=data,
        clock=await test_clocks.clock_for_subscription(
            session, acting.scope, subscription_id, clock
        ),
        requester=PermissionRequester(
            registry=request.app.state.registry,
            gateway=request.app.state.gateway,
            permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
            base_url=settings.api.public_url,
            hosted_secret=hosted_secret(environment=settings.environment),
        ),
    )
    done = "pending" if changed.pending_checkout_session_id else "changed"
    return RedirectResponse(
        f"{acting.base}/subscriptions/{subscription_id}?done={done}", status_code=303
    )
