"""Which routers the API serves. Add a domain's router to `ROUTERS`; `create_app` includes them all.

A router is a plain ``fastapi.APIRouter`` whose endpoints take `SessionDep`, `ClockDep` and
`AuthDep` from `cyphera.auth.dependencies` (import those from there, not from `cyphera.api`: the
import layers put the API above the domains). Every route gets the documented error responses.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from cyphera.api.errors import ERROR_RESPONSES
from cyphera.auth.endpoints import router as auth_router
from cyphera.catalog.endpoints import router as catalog_router
from cyphera.checkout.endpoints import router as checkout_router
from cyphera.coupon.endpoints import router as coupon_router
from cyphera.customer.endpoints import router as customer_router
from cyphera.deadletter.endpoints import router as dead_letter_router
from cyphera.event.endpoints import router as event_router
from cyphera.invoice.page import router as hosted_invoice_router
from cyphera.network.endpoints import router as network_router
from cyphera.paymentlink.endpoints import router as payment_link_router
from cyphera.permission.endpoints import router as permission_router
from cyphera.portal.endpoints import router as portal_router
from cyphera.subscription.discount_endpoints import router as discount_router
from cyphera.subscription.endpoints import router as billing_router
from cyphera.subscription.invoice_views import router as invoice_lines_router
from cyphera.testclock.endpoints import router as test_clock_router
from cyphera.webhook.delivery_endpoints import router as webhook_delivery_router
from cyphera.webhook.endpoints import router as webhook_router
from cyphera.workspace.endpoints import router as workspace_router
from cyphera.workspace.key_endpoints import router as api_key_router
from cyphera.workspace.team_endpoints import router as team_router

ROUTERS: list[APIRouter] = [
    catalog_router,
    workspace_router,
    checkout_router,
    billing_router,
    customer_router,
    permission_router,
    event_router,
    network_router,
    hosted_invoice_router,
    auth_router,
    team_router,
    api_key_router,
    test_clock_router,
    webhook_router,
    webhook_delivery_router,
    coupon_router,
    discount_router,
    invoice_lines_router,
    portal_router,
    payment_link_router,
    dead_letter_router,
]


def include_routers(app: FastAPI, routers: list[APIRouter] | None = None) -> None:
    for router in ROUTERS if routers is None else routers:
        app.include_router(router, responses=ERROR_RESPONSES)
