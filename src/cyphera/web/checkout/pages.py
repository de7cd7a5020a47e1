"""``GET /pay/{checkout_id}?key=…``: the hosted checkout page, one state per template.

Open (choose network and token, connect, review the terms in words, approve), complete (the
first charge's progress), expired, and not found — a wrong key and an unknown session alike.
Everything up to "connect" renders without JavaScript; the wallet steps are ``checkout.ts``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.checkout import service, update
from cyphera.checkout.errors import CheckoutSessionNotFound
from cyphera.checkout.terms import terms_of
from cyphera.kit.periods import Interval, window_seconds
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.models.mixins import Mode
from cyphera.payment.dependencies import RegistryDep
from cyphera.web import words
from cyphera.web.checkout import access
from cyphera.web.checkout.session_api import PATH, progress_of
from cyphera.web.checkout.view import (
    first_charge_in_words,
    networks_offered,
    price_in_words,
    terms_in_words,
)
from cyphera.web.templating import Pages

router = APIRouter(include_in_schema=False)


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _window_note(overview: service.Overview) -> str | None:
    """Why the permission's period differs from the plan's (months and years vary in length)."""
    if overview.interval not in (Interval.MONTH, Interval.YEAR):
        return None
    unit = overview.interval.value
    count = overview.interval_count
    plan = f"once a {unit}" if count == 1 else f"once every {count} {unit}s"
    span = f"a {unit}" if count == 1 else f"{count} {unit}s"
    window = words.every(window_seconds(overview.interval, count))
    return (
        f"You are charged {plan}. The permission counts {window}, the shortest {span} can be, "
        "so each charge falls in a window of its own and no window can allow more than one."
    )


@router.get(PATH, response_class=HTMLResponse)
async def checkout_page(
    checkout_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    key: str | None = None,
) -> HTMLResponse:
    pages = _pages(request)
    await access.limit(request, checkout_id)
    try:
        checkout = await service.find_by_client_secret(
            session,
            checkout_id=checkout_id,
            client_secret=access.key_of(key),
            secret=access.hosted_key(request),
        )
    except CheckoutSessionNotFound:
        return pages.render("checkout/not_found.html", {}, status_code=404)
    overview = await service.overview(session, checkout)
    context: dict[str, Any] = {
        "merchant": overview.merchant,
        "product": overview.product,
        "quantity": checkout.quantity,
        "price": price_in_words(overview, checkout.quantity),
        "unit_price": price_in_words(overview, 1),
        "trial_days": overview.trial_period_days,
        "livemode": checkout.mode is Mode.LIVE,
        "cancel_url": checkout.cancel_url,
        "success_url": checkout.success_url,
    }
    if checkout.status is CheckoutSessionStatus.COMPLETE:
        progress = await progress_of(session, checkout, registry)
        return pages.render("checkout/complete.html", context | {"progress": progress})
    if checkout.status is CheckoutSessionStatus.EXPIRED or clock.now() >= checkout.expires_at:
        return pages.render("checkout/expired.html", context, status_code=410)
    terms = terms_of(checkout)
    networks = networks_offered(checkout, registry)
    # A price change's session has no first charge: what approving it charges now, if anything.
    context["first_charge"] = first_charge_in_words(
        await update.charge_shown(session, checkout, clock)
    )
    context["is_update"] = update.is_update(checkout)
    context["window_note"] = _window_note(overview)
    base = f"{PATH.format(checkout_id=checkout.id)}"
    return pages.render(
        "checkout/open.html",
        context
        | {
            "terms": None if terms is None else terms_in_words(terms, registry),
            "networks": networks,
            "customer_address": checkout.customer_address
            if checkout.customer_address_fixed
            else None,
            "page": {
                "key": key,
                "prepare_url": f"{base}/prepare",
                "complete_url": f"{base}/complete",
                "status_url": f"{base}/status",
                "success_url": checkout.success_url or "",
                "purpose": checkout.purpose.value,
                "networks": json.dumps(networks),
            },
        },
    )
