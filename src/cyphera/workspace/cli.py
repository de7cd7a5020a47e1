"""``cyphera workspace …``: create a workspace from the command line.

Mounted by `cyphera.cli` as ``cyphera workspace``. Its database: `cyphera.command_database`.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.command_database import DatabaseUrl, command_database, run_command
from cyphera.config import Settings
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
    database_url: DatabaseUrl = None,
) -> None:
    """Create a workspace and its first test-mode secret key (shown once)."""
    settings = Settings()
    found = command_database(settings, database_url)
    public_url = (
        found.running.api_url if found.running is not None else settings.api.public_url
    ).rstrip("/")
    created = run_command(found.database, functools.partial(_create, name=name, owner=owner))

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


async def _create(session: AsyncSession, *, name: str, owner: str | None) -> CreatedWorkspace:
    created = await create_workspace(session, name=name)
    if owner is not None:
        await add_owner(
            session, workspace_id=created.workspace.id, address=owner, clock=system_clock
        )
    return created
