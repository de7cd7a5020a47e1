"""``cyphera dead-letters …``: what the operators see and do about jobs that failed for good.

    cyphera dead-letters list [--status open]     newest first, one line each
    cyphera dead-letters show ID                  everything, the traceback included
    cyphera dead-letters retry ID                 enqueue the same task and arguments again
    cyphera dead-letters discard ID --reason …    close it without running it

Retry and discard are audited as the operator's acts (``--by``, the login name by default), in
the transaction that makes them. Mounted by `cyphera.cli`; the database: `cyphera.command_database`.
"""

from __future__ import annotations

import functools
import getpass
import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.audit import record_act
from cyphera.command_database import DatabaseUrl, command_database, run_command
from cyphera.config import Settings
from cyphera.deadletter import service
from cyphera.kit.clock import system_clock
from cyphera.kit.ids import new_id
from cyphera.kit.terminal import table, when
from cyphera.models import DeadLetter
from cyphera.models.audit_entry import ActorType
from cyphera.models.dead_letter import DeadLetterStatus

app = typer.Typer(
    help="Jobs that failed for good: list, inspect, retry, discard.", no_args_is_help=True
)

By = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Who is acting, for the audit log (default: your login name).",
        show_default=False,
    ),
]
_ERROR_WIDTH = 60


@app.callback()
def dead_letter_commands() -> None:
    """Dead letters: jobs whose last attempt failed, kept for an operator."""


@app.command("list")
def list_command(
    status: Annotated[
        DeadLetterStatus | None, typer.Option("--status", help="Only these.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=service.MAX_LIST)] = 20,
    database_url: DatabaseUrl = None,
) -> None:
    """The newest dead letters, one line each."""
    database = command_database(Settings(), database_url).database
    found = run_command(
        database, functools.partial(service.list_dead_letters, status=status, limit=limit)
    )
    if not found:
        typer.echo("no dead letters" + (f" {status.value}" if status else ""))
        return
    rows = [
        [
            d.id,
            d.task_name,
            d.status.value,
            str(d.attempts),
            when(d.last_failed_at),
            d.workspace_id or "-",
            _cut(f"{d.error_type}: {d.error_message}", _ERROR_WIDTH),
        ]
        for d in found
    ]
    typer.echo(
        table(["ID", "TASK", "STATUS", "ATTEMPTS", "LAST FAILED", "WORKSPACE", "ERROR"], rows)
    )


@app.command("show")
def show_command(dead_letter_id: str, database_url: DatabaseUrl = None) -> None:
    """Everything about one dead letter, its arguments and traceback included."""
    database = command_database(Settings(), database_url).database
    typer.echo(
        _details(
            run_command(database, functools.partial(service.get, dead_letter_id=dead_letter_id))
        )
    )


@app.command("retry")
def retry_command(dead_letter_id: str, by: By = None, database_url: DatabaseUrl = None) -> None:
    """Enqueue the same task with the same arguments again (the worker runs it)."""
    operator = by or getpass.getuser()
    database = command_database(Settings(), database_url).database
    retried = run_command(
        database, functools.partial(_retry, dead_letter_id=dead_letter_id, operator=operator)
    )
    job = (
        f"job {retried.retry_job_id}"
        if retried.retry_job_id
        else "the identical job already waiting"
    )
    typer.echo(f"retried {retried.id}: {retried.task_name} runs again as {job}")


@app.command("discard")
def discard_command(
    dead_letter_id: str,
    reason: Annotated[
        str, typer.Option("--reason", help="Why it needs no rerun (kept and audited).")
    ],
    by: By = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Close a dead letter without running it again."""
    operator = by or getpass.getuser()
    database = command_database(Settings(), database_url).database
    discarded = run_command(
        database,
        functools.partial(
            _discard, dead_letter_id=dead_letter_id, operator=operator, reason=reason
        ),
    )
    typer.echo(f"discarded {discarded.id}: {discarded.task_name}")


async def _retry(session: AsyncSession, *, dead_letter_id: str, operator: str) -> DeadLetter:
    operator = service.operator_name(operator, param="--by")
    retried = await service.retry(session, dead_letter_id, operator=operator, clock=system_clock)
    await _audit(session, retried, operator)
    return retried


async def _discard(
    session: AsyncSession, *, dead_letter_id: str, operator: str, reason: str
) -> DeadLetter:
    operator = service.operator_name(operator, param="--by")
    discarded = await service.discard(
        session, dead_letter_id, operator=operator, reason=reason, clock=system_clock
    )
    await _audit(session, discarded, operator)
    return discarded


async def _audit(session: AsyncSession, dead_letter: DeadLetter, operator: str) -> None:
    await record_act(
        session,
        actor_type=ActorType.OPERATOR,
        actor_id=operator,
        action=service.audit_action(dead_letter),
        object_type="dead_letter",
        object_id=dead_letter.id,
        request_id=new_id("cli"),
        details={**service.audit_details(dead_letter), "via": "cli"},
        at=system_clock.now(),
    )


def _details(d: DeadLetter) -> str:
    fields = [
        ("id", d.id),
        ("task", d.task_name),
        ("status", d.status.value),
        ("job", f"{d.job_id} (queue {d.queue})"),
        ("args", json.dumps(d.args, sort_keys=True)),
        ("attempts", str(d.attempts) + (" (periodic: failed ticks)" if d.periodic else "")),
        (
            "tenant",
            f"{d.workspace_id} ({d.mode.value})" if d.workspace_id and d.mode else "platform",
        ),
        ("first failed", when(d.first_failed_at)),
        ("last failed", when(d.last_failed_at)),
        ("created", when(d.created_at)),
        ("error", f"{d.error_type}: {d.error_message}"),
    ]
    if d.resolved_at is not None:
        fields.append(("resolved", f"{when(d.resolved_at)} by {d.resolved_by}"))
    if d.resolution_note is not None:
        fields.append(("reason", d.resolution_note))
    if d.retry_job_id is not None:
        fields.append(("retry job", str(d.retry_job_id)))
    width = max(len(name) for name, _ in fields)
    lines = [f"{name + ':':<{width + 1}} {value}" for name, value in fields]
    return "\n".join([*lines, "", "traceback:", d.traceback.rstrip()])


def _cut(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
