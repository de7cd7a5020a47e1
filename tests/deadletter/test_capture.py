"""A job whose last attempt fails becomes a dead letter, through a real worker; never retried forever."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.deadletter import metrics
from cyphera.kit.clock import to_unix
from cyphera.kit.ids import new_id
from cyphera.models import Event, TestClock
from cyphera.models.dead_letter import DeadLetterStatus
from cyphera.models.mixins import Mode
from cyphera.models.test_clock import TestClockStatus
from cyphera.worker import deadletters
from cyphera.worker.app import create_app
from cyphera.workspace.service import create_workspace
from tests.deadletter.helpers import (
    ATTEMPTS,
    FLAKY_TASK,
    NOW,
    PERIODIC_TASK,
    TENANT_TASK,
    Switch,
    dead_letters,
    drain,
    job_statuses,
    worker_app,
)


async def test_a_job_failing_every_attempt_lands_in_dead_letters_once_and_stops(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a task that always raises, with two retries
    switch = Switch()
    app = worker_app(database_url, switch)
    before = metrics.DEAD_LETTERS.labels(task=FLAKY_TASK)._value.get()

    # When it is deferred and a real worker drains the queue
    async with app.open_async():
        job_id = await app.configure_task(FLAKY_TASK).defer_async(order_ref="ord_1")
        await drain(app, sessionmaker)
        await drain(app, sessionmaker)  # nothing is left to run: no retry beyond the bound

    # Then it ran exactly its bounded attempts, ended failed, and one dead letter says so
    assert switch.runs == ["ord_1"] * ATTEMPTS
    assert await job_statuses(sessionmaker, FLAKY_TASK) == [(job_id, "failed", ATTEMPTS)]
    [letter] = await dead_letters(sessionmaker)
    assert letter.id.startswith("dl_")
    assert (letter.task_name, letter.job_id, letter.queue) == (FLAKY_TASK, job_id, "default")
    assert letter.args == {"order_ref": "ord_1"}
    assert letter.attempts == ATTEMPTS
    assert letter.error_type == "tests.deadletter.helpers.Broken"
    assert letter.error_message == "cannot process ord_1 yet"
    assert "Traceback (most recent call last)" in letter.traceback
    assert 'raise Broken(f"cannot process {order_ref} yet")' in letter.traceback
    assert letter.status is DeadLetterStatus.OPEN
    assert letter.periodic is False
    assert (letter.workspace_id, letter.mode) == (None, None)  # platform-level: no tenant named
    assert letter.last_failed_at == letter.created_at == NOW
    assert letter.first_failed_at <= letter.last_failed_at
    assert (letter.resolved_at, letter.resolved_by, letter.retry_job_id) == (None, None, None)
    assert metrics.DEAD_LETTERS.labels(task=FLAKY_TASK)._value.get() == before + 1


async def test_a_dead_letter_names_the_tenant_its_arguments_name_and_tells_it(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a test clock of a workspace, and a task about it that fails (no retries)
    async with transaction(sessionmaker) as session:
        workspace = (await create_workspace(session, name="Acme")).workspace
        clock_id = new_id("clock")
        session.add(
            TestClock(
                id=clock_id,
                workspace_id=workspace.id,
                mode=Mode.TEST,
                frozen_time=NOW,
                status=TestClockStatus.ADVANCING,
            )
        )
    app = worker_app(database_url, Switch())

    # When it runs
    async with app.open_async():
        await app.configure_task(TENANT_TASK).defer_async(test_clock_id=clock_id)
        await drain(app, sessionmaker)

    # Then its dead letter is the workspace's, and the workspace has the event
    [letter] = await dead_letters(sessionmaker)
    assert (letter.workspace_id, letter.mode, letter.attempts) == (workspace.id, Mode.TEST, 1)
    async with sessionmaker() as session:
        events = list(
            await session.scalars(select(Event).where(Event.type == "dead_letter.created"))
        )
    assert [(e.workspace_id, e.mode, e.object_id) for e in events] == [
        (workspace.id, Mode.TEST, letter.id)
    ]
    assert events[0].data == {"task": TENANT_TASK, "attempts": 1, "error_type": letter.error_type}


async def test_a_failing_periodic_task_keeps_one_open_dead_letter(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a periodic task whose every tick fails
    app = worker_app(database_url, Switch())

    # When two ticks run and fail
    async with app.open_async():
        for minute in range(2):
            await app.configure_task(PERIODIC_TASK).defer_async(
                timestamp=to_unix(NOW) + 60 * minute
            )
            await drain(app, sessionmaker)

    # Then one open dead letter counts both failed ticks, and names the last job
    jobs = await job_statuses(sessionmaker, PERIODIC_TASK)
    assert [status for _, status, _ in jobs] == ["failed", "failed"]
    [letter] = await dead_letters(sessionmaker)
    assert (letter.periodic, letter.attempts, letter.job_id) == (True, 2, jobs[-1][0])
    assert letter.args == {"timestamp": to_unix(NOW) + 60}
    assert letter.status is DeadLetterStatus.OPEN


def test_every_task_of_the_worker_retries_a_bounded_number_of_times() -> None:
    app = create_app("postgresql://unused/unused")

    retried = {
        name: task.retry_strategy.max_attempts
        for name, task in app.tasks.items()
        if task.retry_strategy is not None
    }
    # Only the one-off tasks retry; periodic ticks are retried by the next tick.
    assert retried == {"payment.collect": 15, "test_clock.advance": 10}
    assert app.worker_defaults["worker_middleware"] == [deadletters.capture_dead_letters]


def test_a_task_retried_without_bound_stops_the_worker_at_start_up() -> None:
    app = create_app("postgresql://unused/unused")
    app.task(name="test.forever", retry=True)(lambda: None)

    with pytest.raises(ValueError, match=r"tasks retried without bound: test\.forever"):
        deadletters.check_bounded_retries(app)
