"""A real procrastinate worker on the test's database, with test tasks that fail on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import procrastinate
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock
from cyphera.models import AuditEntry, DeadLetter
from cyphera.worker.app import additional_context, create_app
from cyphera.worker.context import WorkerContext
from tests.subscription.helpers import FakeGateway

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLAKY_TASK = "test.flaky"
TENANT_TASK = "test.tenant_fails"
PERIODIC_TASK = "test.periodic_fails"
ATTEMPTS = 3  # the first run and two retries


class Broken(RuntimeError):
    """What the test tasks raise while their cause is not fixed."""


@dataclass
class Switch:
    """Whether the flaky task's cause is fixed; the runs it made."""

    broken: bool = True
    runs: list[str] = field(default_factory=list)


def worker_app(database_url: str, switch: Switch) -> procrastinate.App:
    """The worker's own app (every task, the dead-letter middleware) plus three test tasks."""
    app = create_app(database_url.replace("postgresql+psycopg://", "postgresql://"))

    @app.task(name=FLAKY_TASK, retry=procrastinate.RetryStrategy(max_attempts=ATTEMPTS - 1))
    async def flaky(order_ref: str) -> None:
        switch.runs.append(order_ref)
        if switch.broken:
            raise Broken(f"cannot process {order_ref} yet")

    @app.task(name=TENANT_TASK)
    async def tenant_fails(test_clock_id: str) -> None:
        raise Broken(f"advance of {test_clock_id} crashed")

    # A cron that does not fire during a test: the test defers its ticks itself.
    @app.periodic(cron="0 0 1 1 *", periodic_id=PERIODIC_TASK)
    @app.task(name=PERIODIC_TASK, queueing_lock=PERIODIC_TASK)
    async def periodic_fails(timestamp: int) -> None:
        raise Broken("tick failed")

    return app


async def drain(app: procrastinate.App, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Run a real worker until no job is left (retries without wait run in the same drain)."""
    context = WorkerContext(
        sessionmaker=sessionmaker, gateway=FakeGateway(), clock=FrozenClock(NOW)
    )
    await app.run_worker_async(
        wait=False, install_signal_handlers=False, additional_context=additional_context(context)
    )


async def dead_letters(sessionmaker: async_sessionmaker[AsyncSession]) -> list[DeadLetter]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(DeadLetter).order_by(DeadLetter.created_at, DeadLetter.job_id)
            )
        )


async def job_statuses(
    sessionmaker: async_sessionmaker[AsyncSession], task: str
) -> list[tuple[int, str, int]]:
    """(id, status, attempts) of every job of `task`, oldest first."""
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT id, status::text, attempts FROM procrastinate_jobs WHERE task_name = :task ORDER BY id"
            ),
            {"task": task},
        )
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


async def failed_job(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], order_ref: str
) -> DeadLetter:
    """A flaky job that failed all its attempts through a real worker: its dead letter."""
    app = worker_app(database_url, Switch())
    async with app.open_async():
        await app.configure_task(FLAKY_TASK).defer_async(order_ref=order_ref)
        await drain(app, sessionmaker)
    [letter] = await dead_letters(sessionmaker)
    return letter


async def audit_entries(sessionmaker: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.created_at)))
