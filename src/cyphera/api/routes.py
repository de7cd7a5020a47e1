"""Which routers the API serves. Add a domain's router to `ROUTERS`; `create_app` includes them all.

A router is a plain ``fastapi.APIRouter`` whose endpoints take `SessionDep`, `ClockDep` and
`AuthDep` from `cyphera.auth.dependencies` (import those from there, not from `cyphera.api`: the
import layers put the API above the domains). Every route gets the documented error responses.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from cyphera.api.errors import ERROR_RESPONSES
from cyphera.catalog.endpoints import router as catalog_router
from cyphera.checkout.endpoints import router as checkout_router
from cyphera.subscription.endpoints import router as billing_router
from cyphera.workspace.endpoints import router as workspace_router

ROUTERS: list[APIRouter] = [
    catalog_router,
    workspace_router,
    checkout_router,
    billing_router,
]


def include_routers(app: FastAPI, routers: list[APIRouter] | None = None) -> None:
    for router in ROUTERS if routers is None else routers:
        app.include_router(router, responses=ERROR_RESPONSES)
