"""Enqueue procrastinate jobs inside the caller's SQLAlchemy transaction.

procrastinate's own `defer_async` opens its own connection, so the job would be visible even if the
state change that caused it rolled back (or lost if we crashed between the two). Calling its
`procrastinate_defer_jobs_v1` function on *our* connection makes the job part of the same commit.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_QUEUE = "default"

_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    ":queue, :task, :priority, :lock, :queueing_lock, CAST(:args AS jsonb), :scheduled_at"
    ")::procrastinate_job_to_defer_v1]))"
)


async def defer(
    session: AsyncSession,
    task_name: str,
    *,
    args: dict[str, Any],
    queue: str = DEFAULT_QUEUE,
    lock: str | None = None,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
    priority: int = 0,
) -> int | None:
    """Enqueue `task_name` with `args` in this transaction; the job id, or None when deduplicated.

    `queueing_lock` makes the enqueue a no-op while an identical job is still waiting (the unique
    index on waiting jobs' queueing locks): the savepoint keeps the caller's transaction usable.
    """
    params = {
        "queue": queue,
        "task": task_name,
        "priority": priority,
        "lock": lock,
        "queueing_lock": queueing_lock,
        "args": json.dumps(args),
        "scheduled_at": scheduled_at,
    }
    if queueing_lock is None:
        return int((await session.execute(_DEFER, params)).scalar_one())
    exists = await session.execute(
        text("SELECT id FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo'"),
        {"lock": queueing_lock},
    )
    if exists.first() is not None:
        return None
    async with session.begin_nested():
        return int((await session.execute(_DEFER, params)).scalar_one())
