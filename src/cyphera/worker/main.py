"""Start-up of ``cyphera worker``."""

from __future__ import annotations

from datetime import timedelta

from cyphera.config import Settings
from cyphera.db.engine import create_engine, create_sessionmaker
from cyphera.kit.clock import system_clock
from cyphera.kit.logs import Redactor, secret_values
from cyphera.payment.signer_gateway import SignerGateway
from cyphera.runtime import network_registry
from cyphera.worker.app import additional_context, create_app
from cyphera.worker.context import WorkerContext


async def run_worker(settings: Settings) -> None:
    engine = create_engine(settings.database)
    gateway = SignerGateway.from_settings(settings.signer)
    try:
        app = create_app(settings.database.libpq_url())
        context = WorkerContext(
            sessionmaker=create_sessionmaker(engine),
            gateway=gateway,
            clock=system_clock,
            registry=network_registry(settings),
            watch_start_blocks=dict(settings.chain.watch_start_blocks),
            permission_expiry_notice=timedelta(days=settings.billing.permission_expiry_notice_days),
            redactor=Redactor(secret_values(settings)),
        )
        async with app.open_async():
            await app.run_worker_async(additional_context=additional_context(context))
    finally:
        await gateway.close()
        await engine.dispose()
