"""Everything ``cyphera worker`` exposes on its metrics listener (``CYPHERA_WORKER__METRICS_PORT``).

Read from the database every ``CYPHERA_WORKER__METRICS_REFRESH_SECONDS`` (15 s) by `refresh`,
so they describe the whole deployment, whichever worker is scraped:

- ``cyphera_jobs{task,status}``: procrastinate jobs ``todo`` (waiting or scheduled), ``doing``
  and ``failed`` (kept until purged; a job that failed for good is also a dead letter);
- ``cyphera_job_oldest_waiting_seconds{task}``: how long the oldest job that could run now has
  waited (since it was deferred or, if later, its scheduled time); 0 when none waits;
- ``cyphera_webhook_deliveries_pending``, ``cyphera_webhook_deliveries_in_flight`` and
  ``cyphera_webhook_oldest_due_seconds`` (`cyphera.webhook.backlog`).

Counted as things happen, in this process: ``cyphera_charges_total`` (`cyphera.payment.metrics`),
``cyphera_dead_letters_total`` (`cyphera.deadletter.metrics`) and
``cyphera_reconciliation_findings_total`` (`cyphera.reconciliation.metrics`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress

from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import WorkerSettings
from cyphera.db.engine import transaction
from cyphera.deadletter.metrics import DEAD_LETTERS
from cyphera.kit.clock import Clock
from cyphera.kit.metrics import GaugeTable, MetricsServer, refresh_periodically
from cyphera.payment.metrics import CHARGES
from cyphera.reconciliation.metrics import FINDINGS
from cyphera.webhook.backlog import backlog

JOB_STATUSES = ("todo", "doing", "failed")

JOBS = Gauge("cyphera_jobs", "Background jobs by task and status.", ["task", "status"])
OLDEST_WAITING = Gauge(
    "cyphera_job_oldest_waiting_seconds",
    "Age of the oldest job that could run now and has not started, by task.",
    ["task"],
)
WEBHOOKS_PENDING = Gauge(
    "cyphera_webhook_deliveries_pending", "Webhook deliveries not yet delivered nor given up."
)
WEBHOOKS_IN_FLIGHT = Gauge(
    "cyphera_webhook_deliveries_in_flight", "Webhook deliveries a dispatcher is sending now."
)
WEBHOOKS_OLDEST_DUE = Gauge(
    "cyphera_webhook_oldest_due_seconds",
    "How long the longest-waiting due webhook delivery has been due.",
)
EXPOSED = (
    JOBS,
    OLDEST_WAITING,
    WEBHOOKS_PENDING,
    WEBHOOKS_IN_FLIGHT,
    WEBHOOKS_OLDEST_DUE,
    CHARGES,
    DEAD_LETTERS,
    FINDINGS,
)

# Apart, so the waiting and running jobs are found through procrastinate's partial index on
# them; only the failed ones need a scan of the table.
_JOB_COUNTS = text(
    "SELECT task_name, status::text, count(*) FROM procrastinate_jobs"
    " WHERE status IN ('todo', 'doing') GROUP BY 1, 2"
    " UNION ALL"
    " SELECT task_name, 'failed', count(*) FROM procrastinate_jobs"
    " WHERE status = 'failed' GROUP BY 1"
)
# Waiting since it was deferred, or since its scheduled time (a retry's, a delayed job's) if later.
_OLDEST_WAITING = text(
    "SELECT j.task_name,"
    " extract(epoch FROM now() - min(greatest(coalesce(j.scheduled_at, d.at), d.at)))"
    " FROM procrastinate_jobs j"
    " JOIN LATERAL (SELECT min(e.at) AS at FROM procrastinate_events e"
    "  WHERE e.job_id = j.id AND e.type = 'deferred') d ON true"
    " WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
    " GROUP BY 1"
)


class WorkerMetrics:
    """The database-read gauges, for the tasks this worker knows (reported at 0 when idle)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, tasks: Iterable[str], clock: Clock
    ) -> None:
        self._sessionmaker = sessionmaker
        # procrastinate's own built-in tasks are never deferred here: no series for them.
        self._tasks = sorted(t for t in tasks if not t.startswith("procrastinate."))
        self._clock = clock
        self._jobs = GaugeTable(JOBS)
        self._oldest = GaugeTable(OLDEST_WAITING)

    async def refresh(self) -> None:
        async with transaction(self._sessionmaker) as session:
            counts = (await session.execute(_JOB_COUNTS)).all()
            oldest = (await session.execute(_OLDEST_WAITING)).all()
            deliveries = await backlog(session, now=self._clock.now())
        jobs: dict[tuple[str, ...], float] = {
            (task, status): 0.0 for task in self._tasks for status in JOB_STATUSES
        }
        jobs.update({(task, status): float(count) for task, status, count in counts})
        waiting: dict[tuple[str, ...], float] = {(task,): 0.0 for task in self._tasks}
        waiting.update({(task,): max(float(age), 0.0) for task, age in oldest})
        self._jobs.update(jobs)
        self._oldest.update(waiting)
        WEBHOOKS_PENDING.set(deliveries.pending)
        WEBHOOKS_IN_FLIGHT.set(deliveries.in_flight)
        WEBHOOKS_OLDEST_DUE.set(deliveries.oldest_due_seconds)


@asynccontextmanager
async def serving_metrics(
    settings: WorkerSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    tasks: Iterable[str],
    clock: Clock,
) -> AsyncIterator[MetricsServer | None]:
    """While inside: the metrics listener and the gauges' refresher, when a port is set."""
    if settings.metrics_port is None:
        yield None
        return
    metrics = WorkerMetrics(sessionmaker, tasks=tasks, clock=clock)
    server = MetricsServer.start(settings.metrics_host, settings.metrics_port)
    refreshing = asyncio.create_task(
        refresh_periodically(
            "worker", metrics.refresh, interval_seconds=settings.metrics_refresh_seconds
        )
    )
    try:
        yield server
    finally:
        refreshing.cancel()
        with suppress(asyncio.CancelledError):
            await refreshing
        server.stop()
