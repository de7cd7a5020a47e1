"""The database an operator's command (``cyphera workspace …``, ``cyphera dead-letters …``) uses.

``--database-url`` or ``CYPHERA_DATABASE__URL`` when given, else the database of the ``make dev``
running from this checkout (found through ``.cyphera/dev.json``, whatever its ports), else the
dev default. `run_command` runs the command's work in one transaction there (`run_with_database`
hands a command that commits range by range its sessions instead) and turns what commonly goes
wrong (no database there, not migrated, a refused act) into one line on stderr and an exit code,
never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import structlog
import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import DatabaseSettings, Settings
from cyphera.db.engine import create_engine, create_sessionmaker, transaction
from cyphera.dev.record import RunningStack, record_path
from cyphera.exceptions import AppError, ErrorKind

T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="PostgreSQL URL (default: CYPHERA_DATABASE__URL, else the `make dev` database).",
        show_default=False,
    ),
]
"""The ``--database-url`` option every operator command takes."""

EXIT_REFUSED = 2
"""The exit code of an act the platform refused (`AppError`): unknown id, already resolved, …"""


@dataclass(frozen=True, slots=True)
class CommandDatabase:
    database: DatabaseSettings
    running: RunningStack | None  # the `make dev` whose database this is, if it is one


def command_database(settings: Settings, database_url: str | None) -> CommandDatabase:
    """Where a command's database is (see the module docstring)."""
    _log_to_stderr()
    running = RunningStack.find(record_path(settings.home))
    if database_url is not None:
        return CommandDatabase(
            DatabaseSettings(url=_sqlalchemy_url(database_url), pool_size=1), None
        )
    if running is not None and not settings.database_url_given:
        # `make dev` runs in another terminal of this checkout, perhaps on other ports.
        return CommandDatabase(DatabaseSettings(url=running.database_url, pool_size=1), running)
    return CommandDatabase(settings.database, None)


def run_command(database: DatabaseSettings, act: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `act` in one transaction of `database`, committed when it returns; exit 2 with its
    message when the platform refuses (`AppError`), 1 when the database does."""
    return run_with_database(database, functools.partial(_in_transaction, act=act))


def run_with_database(
    database: DatabaseSettings,
    act: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]],
    *,
    unavailable_exit: int = EXIT_REFUSED,
    database_exit: int = 1,
) -> T:
    """Run `act` with sessions of `database` (it opens its own transactions); exit 2 with the
    message of an `AppError` (`unavailable_exit` for one saying something is unavailable, such
    as a chain), `database_exit` when the database cannot be reached or refuses."""
    try:
        return asyncio.run(_with_database(database, act))
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        code = unavailable_exit if exc.kind is ErrorKind.UNAVAILABLE else EXIT_REFUSED
        raise typer.Exit(code) from None
    except (OperationalError, OSError) as exc:
        typer.echo(
            f"error: cannot connect to the database at {_safe_url(database)}.\n"
            "Is `make dev` running? Start it in another terminal, or pass --database-url "
            "(or set CYPHERA_DATABASE__URL) to use another database.",
            err=True,
        )
        raise typer.Exit(database_exit) from exc
    except DBAPIError as exc:
        typer.echo(
            f"error: the database at {_safe_url(database)} refused the request "
            f"({type(exc.orig).__name__}). Is it migrated? Run `cyphera db upgrade`.",
            err=True,
        )
        raise typer.Exit(database_exit) from exc


async def _with_database(
    database: DatabaseSettings, act: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    engine = create_engine(database)
    try:
        return await act(create_sessionmaker(engine))
    finally:
        await engine.dispose()


async def _in_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], *, act: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    async with transaction(sessionmaker) as session:
        return await act(session)


def _log_to_stderr() -> None:
    """Keep stdout for the command's output (``--json`` is piped into other tools).

    structlog prints to stdout until an entry point configures it; if none has, send it to
    stderr, resolved at each call so a swapped ``sys.stderr`` (tests) is never held on to.
    """
    if not structlog.is_configured():
        structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stderr))


def _sqlalchemy_url(url: str) -> str:
    # Accept the plain libpq form (postgresql://) too: that is what most tools print.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def _safe_url(database: DatabaseSettings) -> str:
    try:
        return make_url(database.sqlalchemy_url()).render_as_string(hide_password=True)
    except Exception:  # a malformed URL: say so rather than echo what may hold a password
        return "<unparseable URL>"
