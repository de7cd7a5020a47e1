"""The procrastinate app: one queue in our PostgreSQL, tasks registered from each domain.

Tasks are thin: they take ids, pull their dependencies from the `WorkerContext`, and call a
domain function tests can call directly. Enqueueing happens in the same transaction as the state
change that causes it (`cyphera.db.jobs`).

Retries are bounded (`cyphera.worker.deadletters` refuses any other task at start-up), and a job
whose last attempt fails becomes a dead letter:

- ``payment.collect``: 15 retries (16 runs), waits doubling from 2 s to 9 h: about 18 hours of
  a signer or chain outage before an operator is asked (the charge is keyed by the payment, so
  a retry can only find the first charge, never make a second);
- ``test_clock.advance``: 10 retries, waits doubling from 2 s to 17 min (about 34 minutes): a
  developer is waiting on it;
- periodic tasks: no retry. The next tick is the retry (a minute later, five for
  reconciliation, ten for the purge), and
  a retry would only race it; a failed tick still becomes a dead letter, one open per task that
  later failures join, so a failing tick shows without a row a minute.
"""

from __future__ import annotations

from typing import Any

import procrastinate

from cyphera.permission import expiry
from cyphera.reconciliation import service as reconciliation
from cyphera.subscription import billing, revocation_watch, scheduler
from cyphera.testclock import clock as test_clocks
from cyphera.testclock import service as test_clock_service
from cyphera.worker import housekeeping
from cyphera.worker.context import CONTEXT_KEY, WorkerContext
from cyphera.worker.context import worker_context as _context
from cyphera.worker.deadletters import capture_dead_letters, check_bounded_retries


def create_app(conninfo: str) -> procrastinate.App:
    """A procrastinate app on `conninfo` (libpq URL), with every Cyphera task registered."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo),
        worker_defaults={"worker_middleware": [capture_dead_letters]},
    )
    register_tasks(app)
    check_bounded_retries(app)
    return app


def register_tasks(app: procrastinate.App) -> None:
    @app.task(
        name=billing.COLLECT_TASK,
        pass_context=True,
        retry=procrastinate.RetryStrategy(max_attempts=15, exponential_wait=2),
    )
    async def collect_payment(job_context: procrastinate.JobContext, payment_id: str) -> None:
        context = _context(job_context)
        await billing.collect(
            context.sessionmaker,
            payment_id=payment_id,
            gateway=context.gateway,
            # A payment of a test clock's subscription is collected at that clock's time.
            clock=await test_clocks.clock_for_payment(
                context.sessionmaker, payment_id, default=context.clock
            ),
        )

    @app.task(
        name=test_clock_service.ADVANCE_TASK,
        pass_context=True,
        retry=procrastinate.RetryStrategy(max_attempts=10, exponential_wait=2),
    )
    async def advance_test_clock(job_context: procrastinate.JobContext, test_clock_id: str) -> None:
        context = _context(job_context)
        await test_clock_service.advance(
            context.sessionmaker,
            test_clock_id=test_clock_id,
            gateway=context.gateway,
            registry=context.registry,
        )

    @app.periodic(cron="* * * * *", periodic_id="billing")
    @app.task(name="billing.renew_due", pass_context=True, queueing_lock="billing.renew_due")
    async def renew_due(job_context: procrastinate.JobContext, timestamp: int) -> None:
        context = _context(job_context)
        await billing.renew_all_due(context.sessionmaker, clock=context.clock)

    for name, step in scheduler.PERIODIC_STEPS.items():
        _register_periodic_step(app, name, step)

    @app.periodic(cron="* * * * *", periodic_id=revocation_watch.TASK)
    @app.task(name=revocation_watch.TASK, pass_context=True, queueing_lock=revocation_watch.TASK)
    async def watch_revocations(job_context: procrastinate.JobContext, timestamp: int) -> None:
        # Customers' own disableDelegation transactions, from any wallet or app, on every network
        # with RPC endpoints; each network on its own (one failing is logged, the others go on).
        context = _context(job_context)
        if context.registry is None:
            return
        await revocation_watch.watch_all(
            context.sessionmaker,
            context.registry,
            clock=context.clock,
            start_blocks=context.watch_start_blocks,
        )

    @app.periodic(cron="* * * * *", periodic_id=expiry.TASK)
    @app.task(name=expiry.TASK, pass_context=True, queueing_lock=expiry.TASK)
    async def notify_expiring(job_context: procrastinate.JobContext, timestamp: int) -> None:
        context = _context(job_context)
        await expiry.notify_expiring(
            context.sessionmaker, clock=context.clock, notice=context.permission_expiry_notice
        )

    @app.periodic(cron="*/5 * * * *", periodic_id=reconciliation.TASK)
    @app.task(name=reconciliation.TASK, pass_context=True, queueing_lock=reconciliation.TASK)
    async def reconcile(job_context: procrastinate.JobContext, timestamp: int) -> None:
        # Transfers through our delegations against our payments, per network, up to the safe
        # head; each network on its own (one failing is logged, the others go on).
        context = _context(job_context)
        if context.registry is None:
            return
        await reconciliation.reconcile_all(
            context.sessionmaker, context.registry, clock=context.clock
        )

    @app.periodic(cron="*/10 * * * *", periodic_id=housekeeping.TASK)
    @app.task(name=housekeeping.TASK, pass_context=True, queueing_lock=housekeeping.TASK)
    async def purge(job_context: procrastinate.JobContext, timestamp: int) -> None:
        context = _context(job_context)
        await housekeeping.purge(context.sessionmaker, clock=context.clock)


def _register_periodic_step(
    app: procrastinate.App, name: str, step: scheduler.PeriodicStep
) -> None:
    """Run the subscription lifecycle step `step` every minute as the task `name`."""

    async def run(job_context: procrastinate.JobContext, timestamp: int) -> None:
        context = _context(job_context)
        await step(context.sessionmaker, clock=context.clock)

    task = app.task(name=name, pass_context=True, queueing_lock=name)(run)
    app.periodic(cron="* * * * *", periodic_id=name)(task)


def additional_context(context: WorkerContext) -> dict[str, Any]:
    return {CONTEXT_KEY: context}
