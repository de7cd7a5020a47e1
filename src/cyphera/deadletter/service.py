"""Dead letters: jobs that failed for good, kept with what an operator needs to act on them.

A job ends here when its last attempt fails (`cyphera.worker.deadletters` calls `capture` from
the worker, which holds the exception). The record has the task, its arguments (ids only: tasks
take nothing else), how many times it ran, the last error and its traceback (credentials
redacted, as in logs), and the tenant whose object the arguments name, when there is one.

Operators then `retry` (the same task and arguments are enqueued again, in the transaction that
marks the letter retried; if it fails again, a new dead letter arrives) or `discard` it, with a
reason. Both act on open letters only: a second retry is `DeadLetterResolved` (409) and changes
nothing.

A new dead letter is announced three ways: an error log line ``dead_letter.created`` (always),
the counter ``cyphera_dead_letters_total{task}``, and, when the arguments name a tenant's object,
the event ``dead_letter.created`` of that tenant. Not for webhook deliveries: a delivery that
dead-letters would otherwise send an event about itself to the endpoint that is failing, and so on.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.db.jobs import defer
from cyphera.deadletter import repository
from cyphera.deadletter.errors import DeadLetterNotFound, DeadLetterResolved, OperatorNameInvalid
from cyphera.deadletter.metrics import DEAD_LETTERS
from cyphera.event import service as events
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.logs import Redactor
from cyphera.models import DeadLetter
from cyphera.models.dead_letter import DeadLetterStatus

ID_PREFIX = "dl"
EVENT_TYPE = "dead_letter.created"
SILENT_TASK_PREFIX = "webhook."
"""Tasks whose dead letters write no tenant event (the delivery loop, above)."""
MAX_MESSAGE_LENGTH = 2_000
MAX_TRACEBACK_LENGTH = 20_000
MAX_LIST = 100
OPERATOR_NAME = re.compile(r"[A-Za-z0-9._@+\-]{1,40}")

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Failure:
    """A job's last attempt, as the worker saw it fail."""

    task_name: str
    job_id: int
    queue: str
    lock: str | None
    queueing_lock: str | None
    args: dict[str, Any]
    attempts: int  # how many times the job ran, this last attempt included
    periodic: bool
    error: BaseException


async def capture(
    sessionmaker: async_sessionmaker[AsyncSession],
    failure: Failure,
    *,
    clock: Clock,
    redactor: Redactor | None = None,
) -> DeadLetter:
    """Keep `failure` as a dead letter (a periodic task's joins its open one), in its own
    transaction; log it, count it, and tell its tenant when the arguments name one."""
    redactor = redactor or Redactor()
    now = clock.now()
    message = redactor.text(str(failure.error))[:MAX_MESSAGE_LENGTH]
    # The tail: the frames nearest the error are the ones that explain it.
    trace = redactor.text("".join(traceback.format_exception(failure.error)))
    trace = trace[-MAX_TRACEBACK_LENGTH:]
    async with transaction(sessionmaker) as session:
        first = (
            None if failure.periodic else await repository.first_failure_at(session, failure.job_id)
        )
        tenant = await repository.tenant_of(session, failure.args)
        dead_letter, created = await repository.upsert(
            session,
            {
                "id": new_id(ID_PREFIX),
                "task_name": failure.task_name,
                "job_id": failure.job_id,
                "queue": failure.queue,
                "lock": failure.lock,
                "queueing_lock": failure.queueing_lock,
                "args": failure.args,
                "periodic": failure.periodic,
                "attempts": failure.attempts,
                "error_type": _qualified_name(failure.error)[:200],
                "error_message": message,
                "traceback": trace,
                "workspace_id": tenant[0] if tenant else None,
                "mode": tenant[1] if tenant else None,
                "status": DeadLetterStatus.OPEN,
                "first_failed_at": min(first, now) if first is not None else now,
                "last_failed_at": now,
                "created_at": now,
            },
        )
        if created and tenant is not None and not failure.task_name.startswith(SILENT_TASK_PREFIX):
            await events.record(
                session,
                workspace_id=tenant[0],
                mode=tenant[1],
                type=EVENT_TYPE,
                object_id=dead_letter.id,
                data={
                    "task": dead_letter.task_name,
                    "attempts": dead_letter.attempts,
                    "error_type": dead_letter.error_type,
                },
            )
    if created:
        DEAD_LETTERS.labels(task=failure.task_name).inc()
    log.error(
        EVENT_TYPE if created else "dead_letter.failed_again",
        dead_letter_id=dead_letter.id,
        task=failure.task_name,
        job_id=failure.job_id,
        attempts=dead_letter.attempts,
        error_type=dead_letter.error_type,
        workspace_id=dead_letter.workspace_id,
    )
    return dead_letter


async def list_dead_letters(
    session: AsyncSession, *, status: DeadLetterStatus | None = None, limit: int = MAX_LIST
) -> list[DeadLetter]:
    """The newest dead letters (at most `limit`, capped at `MAX_LIST`), of `status` if given."""
    return await repository.list_recent(session, status=status, limit=min(limit, MAX_LIST))


async def get(session: AsyncSession, dead_letter_id: str) -> DeadLetter:
    return await _find(session, dead_letter_id, for_update=False)


async def retry(
    session: AsyncSession, dead_letter_id: str, *, operator: str, clock: Clock
) -> DeadLetter:
    """Enqueue the same task with the same arguments (in this transaction) and mark it retried.

    The job keeps the original's queue and locks, so a retried collection is still serialised
    per payment; when an identical job is already waiting (its queueing lock), that one is the
    retry and ``retry_job_id`` stays empty.
    """
    dead_letter = await _open_for_update(session, dead_letter_id)
    job_id = await defer(
        session,
        dead_letter.task_name,
        args=dead_letter.args,
        queue=dead_letter.queue,
        lock=dead_letter.lock,
        queueing_lock=dead_letter.queueing_lock,
    )
    _resolve(dead_letter, DeadLetterStatus.RETRIED, operator=operator, clock=clock)
    dead_letter.retry_job_id = job_id
    await session.flush()
    return dead_letter


async def discard(
    session: AsyncSession, dead_letter_id: str, *, operator: str, reason: str, clock: Clock
) -> DeadLetter:
    """Close the dead letter without running it again; `reason` says why, for the next reader."""
    dead_letter = await _open_for_update(session, dead_letter_id)
    _resolve(dead_letter, DeadLetterStatus.DISCARDED, operator=operator, clock=clock)
    dead_letter.resolution_note = reason
    await session.flush()
    return dead_letter


def operator_name(name: str, *, param: str) -> str:
    """`name` as the audit log's actor: 1 to 40 letters, digits or ``. _ @ + -``."""
    if not OPERATOR_NAME.fullmatch(name):
        raise OperatorNameInvalid(
            f"An operator's name is 1 to 40 letters, digits or . _ @ + - (got {name[:60]!r}).",
            param=param,
        )
    return name


def audit_details(dead_letter: DeadLetter) -> dict[str, Any]:
    """What an operator's act on `dead_letter` records in the audit log, besides who and when."""
    details: dict[str, Any] = {
        "task": dead_letter.task_name,
        "job_id": dead_letter.job_id,
        "workspace_id": dead_letter.workspace_id,
    }
    if dead_letter.retry_job_id is not None:
        details["retry_job_id"] = dead_letter.retry_job_id
    if dead_letter.resolution_note is not None:
        details["reason"] = dead_letter.resolution_note
    return details


def audit_action(dead_letter: DeadLetter) -> str:
    """``dead_letter.retried`` or ``dead_letter.discarded``."""
    return f"dead_letter.{dead_letter.status.value}"


async def _find(session: AsyncSession, dead_letter_id: str, *, for_update: bool) -> DeadLetter:
    found = (
        await repository.get(session, dead_letter_id, for_update=for_update)
        if has_prefix(dead_letter_id, ID_PREFIX)
        else None
    )
    if found is None:
        raise DeadLetterNotFound(f"No such dead letter: {dead_letter_id!r}", param="id")
    return found


async def _open_for_update(session: AsyncSession, dead_letter_id: str) -> DeadLetter:
    dead_letter = await _find(session, dead_letter_id, for_update=True)
    if dead_letter.status is not DeadLetterStatus.OPEN:
        raise DeadLetterResolved(
            f"Dead letter {dead_letter_id} was already {dead_letter.status.value} by "
            f"{dead_letter.resolved_by}; nothing changed."
        )
    return dead_letter


def _resolve(
    dead_letter: DeadLetter, status: DeadLetterStatus, *, operator: str, clock: Clock
) -> None:
    dead_letter.status = status
    dead_letter.resolved_at = clock.now()
    dead_letter.resolved_by = operator


def _qualified_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
