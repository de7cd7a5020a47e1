"""Mounting the pages on the API app (`cyphera.api.app.create_app` calls `install_web`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cyphera.exceptions import AppError
from cyphera.web.assets import ASSETS_PATH, Assets, ImmutableStaticFiles, default_assets_dir
from cyphera.web.checkout.pages import router as checkout_pages
from cyphera.web.checkout.session_api import router as checkout_session_api
from cyphera.web.dashboard.api import router as dashboard_api
from cyphera.web.dashboard.catalog import router as dashboard_catalog
from cyphera.web.dashboard.changes import router as dashboard_changes
from cyphera.web.dashboard.checkouts import router as dashboard_checkouts
from cyphera.web.dashboard.clocks import router as dashboard_clocks
from cyphera.web.dashboard.coupons import router as dashboard_coupons
from cyphera.web.dashboard.deliveries import router as dashboard_deliveries
from cyphera.web.dashboard.deps import page_errors
from cyphera.web.dashboard.invite import router as dashboard_invite
from cyphera.web.dashboard.links import router as dashboard_links
from cyphera.web.dashboard.lists import router as dashboard_lists
from cyphera.web.dashboard.oidc import router as dashboard_oidc
from cyphera.web.dashboard.pages import router as dashboard_pages
from cyphera.web.dashboard.settings import router as dashboard_settings
from cyphera.web.dashboard.team import router as dashboard_team
from cyphera.web.paymentlink.pages import router as payment_link_pages
from cyphera.web.portal.api import router as portal_api
from cyphera.web.portal.pages import router as portal_pages
from cyphera.web.security import PageSecurityMiddleware
from cyphera.web.templating import Pages


def install_web(app: FastAPI, *, assets_dir: Path | None = None) -> None:
    """The pages, their JSON endpoints, their assets under ``/static/web`` and their headers.

    Call before anything mounts ``/static`` itself, so ``/static/web`` is matched first.
    """
    directory = assets_dir or default_assets_dir()
    app.state.pages = Pages(Assets(directory))
    app.add_middleware(PageSecurityMiddleware)
    app.include_router(checkout_session_api)
    app.include_router(checkout_pages)
    app.include_router(portal_api)
    app.include_router(portal_pages)
    app.include_router(dashboard_api)
    # Before the pages: /dashboard/oidc/refused would otherwise read as a workspace and mode.
    app.include_router(dashboard_oidc)
    app.include_router(dashboard_pages)
    app.include_router(dashboard_catalog)
    app.include_router(dashboard_changes)
    app.include_router(dashboard_checkouts)
    app.include_router(dashboard_clocks)
    app.include_router(dashboard_coupons)
    app.include_router(dashboard_invite)
    app.include_router(dashboard_links)
    app.include_router(dashboard_lists)
    app.include_router(dashboard_settings)
    # After the settings: its POST /webhooks/{id}/{action} (enable, disable) would otherwise
    # take the settings' POST /webhooks/{id}/delete, and deleting an endpoint did nothing.
    app.include_router(dashboard_deliveries)
    app.include_router(dashboard_team)
    app.include_router(payment_link_pages)
    app.add_exception_handler(AppError, page_errors(app.exception_handlers[AppError]))
    app.mount(ASSETS_PATH, ImmutableStaticFiles(directory=directory, check_dir=False), name="web")
