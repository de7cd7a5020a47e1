from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from cyphera.db.cluster import free_port
from cyphera.models.api_key import ApiKey
from cyphera.models.workspace import Workspace
from cyphera.workspace.cli import app
from tests.auth.signin import new_wallet, sign_in

runner = CliRunner()


async def _invoke(*args: str) -> tuple[int, str, str]:
    # In a thread: the command runs its own event loop (asyncio.run), as from a shell.
    result = await asyncio.to_thread(runner.invoke, app, list(args))
    return result.exit_code, result.stdout, result.stderr


async def test_create_json_prints_a_key_that_works_on_the_api(
    database_url: str, client: httpx.AsyncClient
) -> None:
    code, out, _ = await _invoke(
        "create", "--name", "Acme", "--json", "--database-url", database_url
    )

    assert code == 0
    created = json.loads(out)
    assert set(created) == {"workspace_id", "secret_key"}
    assert created["workspace_id"].startswith("ws_")
    assert created["secret_key"].startswith("sk_test_")
    authed = await client.get(
        "/v1/prices", headers={"Authorization": f"Bearer {created['secret_key']}"}
    )
    anonymous = await client.get("/v1/prices")
    assert authed.status_code == 200
    assert authed.json()["data"] == []
    assert anonymous.status_code == 401


async def test_create_shows_the_key_once_and_stores_only_its_hash(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    code, out, _ = await _invoke("create", "--name", "Acme Inc", "--database-url", database_url)

    assert code == 0
    secret = next(word for word in out.split() if word.startswith("sk_test_"))
    assert "shown this once" in out
    async with sessionmaker() as session:
        workspace = (await session.scalars(select(Workspace))).one()
        key = (await session.scalars(select(ApiKey))).one()
    assert workspace.name == "Acme Inc"
    assert workspace.id in out
    assert key.workspace_id == workspace.id
    assert secret not in (key.secret_hash, key.redacted)
    assert secret.startswith(key.redacted)


async def test_create_says_what_to_do_when_the_database_is_down() -> None:
    url = f"postgresql://cyphera@127.0.0.1:{free_port()}/cyphera"

    code, out, err = await _invoke("create", "--name", "Acme", "--json", "--database-url", url)

    assert code == 1
    assert out == ""
    assert "cannot connect to the database" in err
    assert "make dev" in err


async def test_create_refuses_a_blank_name(database_url: str) -> None:
    code, out, err = await _invoke("create", "--name", "  ", "--database-url", database_url)

    assert code == 2
    assert out == ""
    assert "workspace name" in err


async def test_create_with_an_owner_lets_that_wallet_manage_it(
    database_url: str, client: httpx.AsyncClient
) -> None:
    wallet = new_wallet()

    code, out, _ = await _invoke(
        "create",
        "--name",
        "Acme",
        "--json",
        "--owner",
        wallet.address,
        "--database-url",
        database_url,
    )
    signed_in = await sign_in(client, wallet)
    workspaces = await client.get("/v1/workspaces", headers=signed_in.headers())

    assert code == 0
    assert [(w["id"], w["role"]) for w in workspaces.json()["data"]] == [
        (json.loads(out)["workspace_id"], "owner")
    ]


async def test_create_with_a_bad_owner_creates_nothing(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    code, _, err = await _invoke(
        "create", "--name", "Acme", "--owner", "0x123", "--database-url", database_url
    )

    assert code == 2
    assert "not an EVM address" in err
    async with sessionmaker() as session:
        assert (await session.scalars(select(Workspace))).all() == []
