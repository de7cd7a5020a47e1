"""Start-up of ``cyphera worker``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cyphera.config import Settings
from cyphera.db.engine import create_engine, create_sessionmaker
from cyphera.kit.clock import system_clock
from cyphera.kit.logs import Redactor, secret_values
from cyphera.payment.signer_gateway import SignerGateway
from cyphera.runtime import network_registry
from cyphera.webhook.dispatcher import DeliveryPolicy, Dispatcher
from cyphera.webhook.secrets import SecretBox
from cyphera.webhook.sender import WebhookSender
from cyphera.worker.app import additional_context, create_app
from cyphera.worker.context import WorkerContext
from cyphera.worker.metrics import serving_metrics


async def run_worker(settings: Settings) -> None:
    engine = create_engine(settings.database)
    gateway = SignerGateway.from_settings(settings.signer)
    sender = WebhookSender(timeout=settings.webhooks.timeout_seconds)
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
        dispatcher = Dispatcher(
            context.sessionmaker,
            sender=sender,
            box=SecretBox(settings.encryption_key.get_secret_value()),
            clock=system_clock,
            policy=DeliveryPolicy.from_settings(settings.webhooks),
        )
        async with (
            app.open_async(),
            serving_metrics(
                settings.worker, context.sessionmaker, tasks=app.tasks, clock=system_clock
            ),
            asyncio.TaskGroup() as tasks,
        ):
            # Webhooks are sent beside the job queue, not through it: the dispatcher bounds
            # deliveries per endpoint, which a queue's worker slots cannot (`webhook.dispatcher`).
            delivering = tasks.create_task(dispatcher.run())
            await app.run_worker_async(
                concurrency=settings.worker.concurrency,
                additional_context=additional_context(context),
            )
            delivering.cancel()
    finally:
        await sender.aclose()
        await gateway.close()
        await engine.dispose()
