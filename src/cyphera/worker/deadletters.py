"""Every job that fails for good becomes a dead letter, and every task's retries are bounded.

procrastinate marks a job ``failed`` when its task raised and its retry strategy declines
another attempt; it keeps nothing of the exception but a log line. `capture_dead_letters` is a
*worker middleware* (procrastinate 3.10): it wraps every job of every task on the event loop,
so it sees the exception itself. It asks the task's retry strategy the same question the worker
asks next (`Task.get_retry_exception`: deterministic for a `RetryStrategy`, from the exception
and the attempts so far), and when the answer is "no more" it writes the dead letter
(`cyphera.deadletter.service.capture`) before the worker records the failure, then re-raises so
procrastinate's own bookkeeping is unchanged. `create_app` installs it once, as a worker
default, so no task can be registered without it.

Not covered: an aborted job (an operator's or a shutdown's choice, not a failure), and a job
whose task this worker does not know (procrastinate fails it before any middleware runs; its row
stays ``failed`` in ``procrastinate_jobs``).

`check_bounded_retries` refuses, at start-up, a task that would retry forever: a task either has
no retry (one attempt) or a `RetryStrategy` with ``max_attempts``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
import structlog
from procrastinate.exceptions import JobAborted

from cyphera.deadletter import service as dead_letters
from cyphera.worker.context import worker_context

log = structlog.get_logger(__name__)


async def capture_dead_letters(
    call_next: Callable[[], Awaitable[Any]],
    context: procrastinate.JobContext,
    worker: Any,
) -> Any:
    """The worker middleware: run the job; on its last failed attempt, keep a dead letter."""
    try:
        return await call_next()
    except JobAborted:
        raise
    except Exception as exc:
        job = context.job
        task = context.app.tasks.get(job.task_name)
        if task is None or task.get_retry_exception(exception=exc, job=job) is not None:
            raise  # procrastinate will try again
        assert job.id is not None  # a fetched job has its row
        failure = dead_letters.Failure(
            task_name=job.task_name,
            job_id=job.id,
            queue=job.queue,
            lock=job.lock,
            queueing_lock=job.queueing_lock,
            args=dict(job.task_kwargs),
            attempts=job.attempts + 1,  # procrastinate counts the attempts before this one
            periodic=job.task_name in _periodic_task_names(context.app),
            error=exc,
        )
        try:
            ours = worker_context(context)
            await dead_letters.capture(
                ours.sessionmaker, failure, clock=ours.clock, redactor=ours.redactor
            )
        except Exception:
            # The job still ends failed in procrastinate_jobs; say loudly what was not kept.
            log.exception("dead_letter.capture_failed", task=job.task_name, job_id=job.id)
        raise


def check_bounded_retries(app: procrastinate.App) -> None:
    """`ValueError` naming any task whose retries are not bounded by ``max_attempts``."""
    unbounded = sorted(
        name
        for name, task in app.tasks.items()
        if task.retry_strategy is not None
        and not (
            isinstance(task.retry_strategy, procrastinate.RetryStrategy)
            and task.retry_strategy.max_attempts
        )
    )
    if unbounded:
        raise ValueError(
            f"tasks retried without bound: {', '.join(unbounded)}; give each a "
            "procrastinate.RetryStrategy with max_attempts (cyphera.worker.deadletters)"
        )


def _periodic_task_names(app: procrastinate.App) -> set[str]:
    return {periodic.task.name for periodic in app.periodic_registry.periodic_tasks.values()}
