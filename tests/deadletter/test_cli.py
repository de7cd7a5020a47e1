"""``cyphera dead-letters``: list, show, retry (the job runs again, through the worker), discard;
every act audited as the operator's, and a refused act changes nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from cyphera.cli import app as cli
from cyphera.models.audit_entry import ActorType
from cyphera.models.dead_letter import DeadLetterStatus
from tests.deadletter.helpers import (
    ATTEMPTS,
    FLAKY_TASK,
    Switch,
    audit_entries,
    dead_letters,
    drain,
    failed_job,
    job_statuses,
    worker_app,
)

runner = CliRunner()


async def _invoke(database_url: str, *args: str) -> tuple[int, str, str]:
    # In a thread: the command runs its own event loop (asyncio.run), as from a shell.
    result = await asyncio.to_thread(
        runner.invoke, cli, ["dead-letters", *args, "--database-url", database_url]
    )
    return result.exit_code, result.stdout, result.stderr


async def test_list_show_retry_runs_the_job_again_and_a_second_failure_is_a_new_letter(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a job that failed all its attempts
    switch = Switch()
    app = worker_app(database_url, switch)
    async with app.open_async():
        first_job = await app.configure_task(FLAKY_TASK).defer_async(order_ref="ord_7")
        await drain(app, sessionmaker)
    [letter] = await dead_letters(sessionmaker)

    # When the operator lists and shows it
    listed = await _invoke(database_url, "list", "--status", "open")
    shown = await _invoke(database_url, "show", letter.id)

    # Then the table and the details say what failed, and how
    code, out, _ = listed
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == [
        "ID",
        "TASK",
        "STATUS",
        "ATTEMPTS",
        "LAST",
        "FAILED",
        "WORKSPACE",
        "ERROR",
    ]
    assert row.split()[:4] == [letter.id, FLAKY_TASK, "open", str(ATTEMPTS)]
    assert "Broken: cannot process ord_7 yet" in row
    code, out, _ = shown
    assert code == 0
    assert '{"order_ref": "ord_7"}' in out
    assert f"job:          {first_job} (queue default)" in out
    assert "traceback:\nTraceback (most recent call last)" in out

    # When the cause is fixed and the operator retries it, and the worker runs
    switch.broken = False
    code, out, _ = await _invoke(database_url, "retry", letter.id, "--by", "alice")
    async with app.open_async():
        await drain(app, sessionmaker)

    # Then the same task ran again with the same arguments, and succeeded
    assert code == 0, out
    [retried] = await dead_letters(sessionmaker)
    assert retried.status is DeadLetterStatus.RETRIED
    assert retried.resolved_by == "alice"
    assert retried.retry_job_id is not None
    assert f"runs again as job {retried.retry_job_id}" in out
    assert switch.runs == ["ord_7"] * (ATTEMPTS + 1)
    assert await job_statuses(sessionmaker, FLAKY_TASK) == [
        (first_job, "failed", ATTEMPTS),
        (retried.retry_job_id, "succeeded", 1),
    ]
    [entry] = await audit_entries(sessionmaker)
    assert (entry.actor_type, entry.actor_id, entry.action) == (
        ActorType.OPERATOR,
        "alice",
        "dead_letter.retried",
    )
    assert (entry.object_type, entry.object_id, entry.workspace_id) == (
        "dead_letter",
        letter.id,
        None,
    )
    assert entry.details["retry_job_id"] == retried.retry_job_id
    assert entry.details["via"] == "cli"

    # When it is retried again while broken
    switch.broken = True
    async with app.open_async():
        await app.configure_task(FLAKY_TASK).defer_async(order_ref="ord_8")
        await drain(app, sessionmaker)

    # Then the new failure is a new dead letter; the retried one stays as it was
    letters = await dead_letters(sessionmaker)
    assert [(d.status, d.args["order_ref"]) for d in letters] == [
        (DeadLetterStatus.RETRIED, "ord_7"),
        (DeadLetterStatus.OPEN, "ord_8"),
    ]


async def test_a_second_retry_is_refused_and_changes_nothing(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a dead letter already retried
    letter = await failed_job(database_url, sessionmaker, "ord_9")
    assert (await _invoke(database_url, "retry", letter.id, "--by", "alice"))[0] == 0
    jobs = await job_statuses(sessionmaker, FLAKY_TASK)

    # When it is retried, and discarded, again
    again = await _invoke(database_url, "retry", letter.id, "--by", "bob")
    discard = await _invoke(database_url, "discard", letter.id, "--reason", "late", "--by", "bob")

    # Then both are refused with the reason; no job, no audit entry, no change
    for code, _, err in (again, discard):
        assert code == 2
        assert (
            f"error: Dead letter {letter.id} was already retried by alice; nothing changed." in err
        )
    assert await job_statuses(sessionmaker, FLAKY_TASK) == jobs
    assert [e.actor_id for e in await audit_entries(sessionmaker)] == ["alice"]
    [unchanged] = await dead_letters(sessionmaker)
    assert (unchanged.status, unchanged.resolved_by) == (DeadLetterStatus.RETRIED, "alice")


async def test_discard_closes_it_with_the_reason_and_audits_it(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a dead letter
    letter = await failed_job(database_url, sessionmaker, "ord_3")
    jobs = await job_statuses(sessionmaker, FLAKY_TASK)

    # When the operator discards it
    code, out, _ = await _invoke(
        database_url, "discard", letter.id, "--reason", "order deleted upstream", "--by", "carol"
    )

    # Then it is closed unrun, with who and why; the audit log says the same
    assert code == 0
    assert out == f"discarded {letter.id}: {FLAKY_TASK}\n"
    [discarded] = await dead_letters(sessionmaker)
    assert discarded.status is DeadLetterStatus.DISCARDED
    assert (discarded.resolved_by, discarded.resolution_note) == ("carol", "order deleted upstream")
    assert discarded.retry_job_id is None
    assert await job_statuses(sessionmaker, FLAKY_TASK) == jobs
    [entry] = await audit_entries(sessionmaker)
    assert (entry.actor_type, entry.actor_id, entry.action) == (
        ActorType.OPERATOR,
        "carol",
        "dead_letter.discarded",
    )
    assert entry.details["reason"] == "order deleted upstream"
    code, out, _ = await _invoke(database_url, "list", "--status", "open")
    assert (code, out) == (0, "no dead letters open\n")


async def test_an_unknown_id_is_an_error_and_nothing_is_written(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for args in (("show", "dl_missing"), ("retry", "dl_missing"), ("retry", "not-an-id")):
        code, _, err = await _invoke(database_url, *args)

        assert code == 2
        assert "error: No such dead letter" in err
    assert await audit_entries(sessionmaker) == []
