"""``cyphera workspace …``: create a workspace from the command line.

Mounted by `cyphera.cli` as ``cyphera workspace``. Uses ``--database-url`` or
``CYPHERA_DATABASE__URL`` when given, else the database of the ``make dev`` running from this
checkout (found through ``.cyphera/dev.json``, whatever its ports), else the dev default.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import structlog
import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from cyphera.config import DatabaseSettings, Settings
from cyphera.db.engine import create_engine, create_sessionmaker, transaction
from cyphera.dev.record import RunningStack, record_path
from cyphera.exceptions import AppError
from cyphera.kit.clock import system_clock
from cyphera.workspace.service import CreatedWorkspace, create_workspace
from cyphera.workspace.team import add_owner

app = typer.Typer(help="Workspaces and their API keys.", no_args_is_help=True)


@app.callback()
def workspace_commands() -> None:
    """Workspaces: a merchant's tenant, with its API keys."""


@app.command("create")
def create_workspace_command(
    name: Annotated[str, typer.Option("--name", help="The workspace's display name.")],
    as_json: Annotated[
        bool,
        typer.Option("--json", help='Print only {"workspace_id": …, "secret_key": …} as JSON.'),
    ] = False,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="A wallet address to make the workspace's owner: signing in with it "
            "(Sign-In with Ethereum) manages the workspace's members and keys.",
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="PostgreSQL URL (default: CYPHERA_DATABASE__URL, else the `make dev` database).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a workspace and its first test-mode secret key (shown once)."""
    _log_to_stderr()
    settings = Settings()
    database = settings.database
    public_url = settings.api.public_url.rstrip("/")
    running = RunningStack.find(record_path(settings.home))
    if database_url is not None:
        database = DatabaseSettings(url=_sqlalchemy_url(database_url), pool_size=1)
    elif running is not None and not settings.database_url_given:
        # `make dev` runs in another terminal of this checkout, perhaps on other ports.
        database = DatabaseSettings(url=running.database_url, pool_size=1)
        public_url = running.api_url.rstrip("/")
    try:
        created = asyncio.run(_create(database, name=name, owner=owner))
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    except (OperationalError, OSError) as exc:
        typer.echo(
            f"error: cannot connect to the database at {_safe_url(database)}.\n"
            "Is `make dev` running? Start it in another terminal, or pass --database-url "
            "(or set CYPHERA_DATABASE__URL) to use another database.",
            err=True,
        )
        raise typer.Exit(1) from exc
    except DBAPIError as exc:
        typer.echo(
            f"error: the database at {_safe_url(database)} refused the request "
            f"({type(exc.orig).__name__}). Is it migrated? Run `cyphera db upgrade`.",
            err=True,
        )
        raise typer.Exit(1) from exc

    workspace_id = created.workspace.id
    if as_json:
        typer.echo(json.dumps({"workspace_id": workspace_id, "secret_key": created.secret_key}))
        return
    typer.echo(
        f"Created workspace {created.workspace.name!r} ({workspace_id}).\n"
        "\n"
        "Its test-mode secret key is below. It is shown this once: only its hash is stored,\n"
        "so copy it now into your secrets store.\n"
        "\n"
        f"    {created.secret_key}\n"
        "\n"
        "Try it:\n"
        f'    curl -H "Authorization: Bearer {created.secret_key}" {public_url}/v1/prices'
    )


async def _create(database: DatabaseSettings, *, name: str, owner: str | None) -> CreatedWorkspace:
    engine = create_engine(database)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            created = await create_workspace(session, name=name)
            if owner is not None:
                await add_owner(
                    session, workspace_id=created.workspace.id, address=owner, clock=system_clock
                )
            return created
    finally:
        await engine.dispose()


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
