"""``cyphera``: one command for every process and the operator's tasks.

cyphera dev                    the whole platform on embedded defaults (make dev)
cyphera clean                  forget the dev state: database cluster and chain (make clean)
cyphera api | worker | signer  one process each, configured from CYPHERA_* settings
cyphera workspace create       a workspace and its first test secret key
cyphera db upgrade             apply migrations
cyphera dead-letters …         jobs that failed for good: list, show, retry, discard
cyphera listen --forward-to …  a workspace's events, signed, to a receiver on this machine
cyphera reconcile              compare a network's transfers through our delegations with the books
"""

from __future__ import annotations

import asyncio
import os

import typer
import uvicorn
from fastapi import FastAPI

from cyphera.api.app import create_app
from cyphera.config import Environment, Settings
from cyphera.db.cluster import ClusterError
from cyphera.db.migrate import upgrade
from cyphera.deadletter.cli import app as dead_letters_app
from cyphera.dev import main as dev_main
from cyphera.dev import stack as dev_stack
from cyphera.dev.record import RunningStack, record_path
from cyphera.exceptions import AppError
from cyphera.kit.clock import system_clock
from cyphera.kit.hosted import HOSTED_SECRET_ENV
from cyphera.kit.logs import configure_logging, secret_values
from cyphera.kit.metrics import multiprocess_directory
from cyphera.kit.process import reset_recursion_limit
from cyphera.reconciliation.cli import reconcile_command
from cyphera.signer.cli import app as signer_app
from cyphera.webhook import listen as forwarding
from cyphera.worker.main import run_worker
from cyphera.workspace.cli import app as workspace_app

app = typer.Typer(
    name="cyphera",
    help="Recurring stablecoin payments on MetaMask delegations.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(workspace_app, name="workspace", help="Workspaces and their API keys.")
app.add_typer(signer_app, name="signer", help="The signer: the only process holding relayer keys.")
app.add_typer(dead_letters_app, name="dead-letters", help="Jobs that failed for good.")
app.command("reconcile")(reconcile_command)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _logging(settings: Settings) -> None:
    """What every process sets first, once its imports are done: the recursion limit
    (`cyphera.kit.process`), and one logging set-up with secrets redacted (`cyphera.kit.logs`)."""
    reset_recursion_limit()
    configure_logging(
        level=settings.log_level,
        console=settings.environment is Environment.DEVELOPMENT,
        secrets=[*secret_values(settings), os.environ.get(HOSTED_SECRET_ENV, "")],
    )


@app.command()
def dev() -> None:
    """Run everything locally: PostgreSQL, anvil with the framework, demo data, api, worker, signer."""
    settings = Settings()
    _logging(settings)
    try:
        code = dev_main.run(settings)
    except (ClusterError, AppError) as exc:
        # What stands in the way and what fixes it, in one line: never a traceback.
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def clean() -> None:
    """Delete the local dev state (database cluster, chain); `make clean` runs this."""
    settings = Settings()
    paths = dev_stack.DevPaths(settings.home)
    if RunningStack.find(paths.record) is not None:
        typer.echo("error: `cyphera dev` is running from this checkout: stop it first", err=True)
        raise typer.Exit(1)
    dev_stack.forget(paths)
    typer.echo(f"removed the dev state in {paths.home}")


@app.command()
def api() -> None:
    """Serve the REST API, the dashboard and the hosted pages."""
    settings = Settings()
    _logging(settings)
    # Several workers write their metrics to files one scrape of any of them aggregates.
    with multiprocess_directory(settings.api.workers):
        _serve_api(settings)


def _serve_api(settings: Settings) -> None:
    uvicorn.run(
        # An import string, so that each of several workers builds its own app (and engine).
        "cyphera.cli:served_app",
        factory=True,
        workers=settings.api.workers,
        # A worker imports the whole app before it answers the supervisor's first ping: on a busy
        # machine that is more than uvicorn's default 5 s, and the supervisor would kill it, start
        # another, kill that one…
        timeout_worker_healthcheck=30,
        host=settings.api.host,
        port=settings.api.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # X-Forwarded-For is read by the app, from trusted proxies only (`cyphera.kit.forwarded`):
        # uvicorn's own handling would believe any client connecting from 127.0.0.1.
        proxy_headers=False,
        log_config=None,  # uvicorn's lines go through our logging (`cyphera.kit.logs`)
    )


def served_app() -> FastAPI:
    """The app one ``cyphera api`` process serves, from the environment's settings."""
    settings = Settings()
    _logging(settings)
    return create_app(settings)


@app.command()
def worker() -> None:
    """Run the background worker: renewals, charges, and everything scheduled."""
    settings = Settings()
    _logging(settings)
    asyncio.run(run_worker(settings))


@app.command()
def listen(
    forward_to: str = typer.Option(
        ..., "--forward-to", help="Your local receiver, e.g. http://localhost:3000/webhooks."
    ),
    api_key: str = typer.Option(
        ..., envvar="CYPHERA_API_KEY", help="A secret key of the workspace (sk_test_…)."
    ),
    api_url: str | None = typer.Option(
        None, envvar="CYPHERA_API_URL", help="The API; by default the running `make dev`'s."
    ),
    events: str = typer.Option("", help="Comma-separated event types to forward (all by default)."),
    secret: str | None = typer.Option(
        None,
        envvar="CYPHERA_LISTEN_SECRET",
        help="Sign with this whsec_… secret (by default a new one, printed at start).",
    ),
    live: bool = typer.Option(False, "--live", help="Allow a live-mode key."),
    interval: float = typer.Option(1.0, min=0.2, max=60.0, help="Seconds between two polls."),
) -> None:
    """Forward a workspace's events to a local URL, signed like real deliveries."""
    settings = Settings()
    try:
        checked = forwarding.checked_options(
            api_key=api_key, live=live, events=events, secret=secret
        )
    except forwarding.ListenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    running = RunningStack.find(record_path(settings.home))
    url = api_url or (running.api_url if running else settings.api.public_url)
    try:
        asyncio.run(
            forwarding.listen(
                api_url=url,
                api_key=api_key,
                forward_to=forward_to,
                secret=checked.secret,
                event_types=checked.event_types,
                interval=interval,
                clock=system_clock,
                say=typer.echo,
            )
        )
    except forwarding.ListenError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database named by CYPHERA_DATABASE__URL to `revision`."""
    settings = Settings()
    upgrade(settings.database.sqlalchemy_url(), revision)
    typer.echo(f"database at {revision}")
