"""The API application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cyphera.api.docs import install_docs
from cyphera.api.errors import install_error_handlers
from cyphera.api.health import router as health_router
from cyphera.api.metrics import install_metrics
from cyphera.api.middleware import (
    BodyGuardMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from cyphera.api.openapi import install_openapi
from cyphera.api.routes import include_routers
from cyphera.api.transaction import TransactionMiddleware
from cyphera.auth.ratelimit import RateLimits
from cyphera.chain.networks import NetworkRegistry
from cyphera.config import Settings
from cyphera.db.engine import create_engine, create_sessionmaker
from cyphera.kit.clock import Clock, system_clock
from cyphera.payment.gateway import ChargeGateway
from cyphera.payment.signer_gateway import SignerGateway
from cyphera.runtime import network_registry
from cyphera.web.routes import install_web

API_VERSION = "2026-11-28"
DESCRIPTION = """\
Recurring stablecoin payments, non-custodial, on EVM chains.

**Authentication**: send an API key as `Authorization: Bearer sk_test_…`. Test keys (`sk_test_`)
and live keys (`sk_live_`) see disjoint data; restricted keys (`rk_…`) can only read.

**Errors** always look like `{"error": {"type", "code", "message", "param"}}`; `code` is stable.

**Idempotency**: send `Idempotency-Key: <uuid>` on a POST to make retrying it safe for 24 hours.

**Lists** are newest first, paged with `limit`, `starting_after` and `ending_before`.
"""


def create_app(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock | None = None,
    gateway: ChargeGateway | None = None,
    registry: NetworkRegistry | None = None,
) -> FastAPI:
    """The REST API.

    Without `sessionmaker`, the app creates its engine from ``settings.database`` at start-up and
    disposes of it at shutdown; with one, the caller owns it. `clock` defaults to the system
    clock. `gateway` (charges through the signer) defaults to a gRPC client of
    ``settings.signer``; `registry` (the networks) defaults to the one built from settings.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine: AsyncEngine | None = None
        own_gateway: SignerGateway | None = None
        if sessionmaker is None:
            engine = create_engine(settings.database)
            app.state.sessionmaker = create_sessionmaker(engine)
        if registry is None:
            app.state.registry = network_registry(settings)
        if gateway is None:
            own_gateway = SignerGateway.from_settings(settings.signer)
            app.state.gateway = own_gateway
        try:
            yield
        finally:
            if own_gateway is not None:
                await own_gateway.close()
            if engine is not None:
                await engine.dispose()

    app = FastAPI(
        title="Cyphera API",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # ours, from our own origin (`cyphera.api.docs`)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker
    app.state.clock = clock or system_clock
    app.state.gateway = gateway
    app.state.registry = registry
    app.state.rate_limits = RateLimits(
        sign_in_rate=settings.auth.sign_in_rate_limit,
        api_key_rate=settings.auth.api_key_rate_limit,
        storage_uri=settings.auth.rate_limit_storage_uri,
        checkout_page_rate=settings.auth.checkout_page_rate_limit,
    )
    install_error_handlers(app)
    # Added innermost first: requests pass HttpMetrics, SecurityHeaders, RequestContext,
    # BodyGuard, Transaction, then routes.
    app.add_middleware(TransactionMiddleware, state=app.state)
    app.add_middleware(BodyGuardMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    install_metrics(app)
    app.include_router(health_router)
    include_routers(app)
    install_web(app, assets_dir=settings.api.web_assets_dir)
    install_openapi(app)
    install_docs(app, assets_dir=settings.api.docs_assets_dir)
    return app
