"""The audit log: every successful change is written with its actor, in its own transaction."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.keys import hash_secret
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.api_key import ApiKey, ApiKeyKind
from cyphera.models.audit_entry import ActorType, AuditEntry
from cyphera.models.mixins import Mode
from tests.auth.signin import join, owner_of_new_workspace
from tests.fixtures.api import MakeApiKey, MakeWorkspace, WorkspaceKeys


async def _entries(sessionmaker: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(AuditEntry).order_by(AuditEntry.action))).all())


async def _key_id(sessionmaker: async_sessionmaker[AsyncSession], secret: str) -> str:
    async with sessionmaker() as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.secret_hash == hash_secret(secret))
        )
    assert key_id is not None
    return key_id


async def test_a_post_is_recorded_with_its_key_object_and_request(
    api: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    created = await api.post("/v1/products", json={"name": "Pro"})
    product_id = created.json()["id"]
    updated = await api.post(f"/v1/products/{product_id}", json={"name": "Pro 2"})

    entries = await _entries(sessionmaker)

    key_id = await _key_id(sessionmaker, workspace.secret_key)
    assert [
        (
            e.action,
            e.actor_type,
            e.actor_id,
            e.workspace_id,
            e.mode,
            e.object_type,
            e.object_id,
            e.request_id,
            e.created_at,
        )
        for e in entries
    ] == [
        (
            "POST /v1/products",
            ActorType.API_KEY,
            key_id,
            workspace.workspace_id,
            Mode.TEST,
            "product",
            product_id,
            created.headers["x-request-id"],
            api_clock.now(),
        ),
        (
            "POST /v1/products/{product_id}",
            ActorType.API_KEY,
            key_id,
            workspace.workspace_id,
            Mode.TEST,
            "product",
            product_id,
            updated.headers["x-request-id"],
            api_clock.now(),
        ),
    ]


async def test_reads_failures_and_refusals_record_nothing(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    restricted = await make_api_key(workspace.workspace_id, kind=ApiKeyKind.RESTRICTED)

    await api.get("/v1/products")
    invalid = await api.post("/v1/products", json={"name": ""})
    missing = await api.post("/v1/products/prod_nope", json={"name": "x"})
    refused = await client.post(
        "/v1/products", json={"name": "x"}, headers={"Authorization": f"Bearer {restricted}"}
    )
    anonymous = await client.post("/v1/products", json={"name": "x"})
    nonce = await client.post("/v1/auth/siwe/nonce")

    assert [invalid.status_code, missing.status_code, refused.status_code] == [400, 404, 403]
    assert anonymous.status_code == 401
    assert nonce.status_code == 200
    assert await _entries(sessionmaker) == []


async def test_an_idempotent_replay_is_not_recorded_twice(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "a9c4f1"}

    first = await api.post("/v1/products", json={"name": "Pro"}, headers=headers)
    replay = await api.post("/v1/products", json={"name": "Pro"}, headers=headers)

    assert replay.headers["idempotent-replayed"] == "true"
    assert [e.object_id for e in await _entries(sessionmaker)] == [first.json()["id"]]


async def test_an_api_key_reads_its_workspace_and_mode_only(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    make_workspace: MakeWorkspace,
) -> None:
    live_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)
    other = await make_workspace("Other")
    live = {"Authorization": f"Bearer {live_key}"}
    mine = (await api.post("/v1/products", json={"name": "test product"})).json()["id"]
    live_product = (
        await client.post("/v1/products", json={"name": "live product"}, headers=live)
    ).json()["id"]
    await client.post("/v1/products", json={"name": "theirs"}, headers=other.headers)

    as_test = await api.get("/v1/audit_log")
    as_live = await client.get("/v1/audit_log", headers=live)
    as_other = await client.get("/v1/audit_log", headers=other.headers)

    assert as_test.status_code == 200
    assert [e["target"]["id"] for e in as_test.json()["data"]] == [mine]
    assert as_test.json()["data"][0]["livemode"] is False
    assert as_test.json()["data"][0]["actor"]["type"] == "api_key"
    assert [e["target"]["id"] for e in as_live.json()["data"]] == [live_product]
    assert [e["target"]["object"] for e in as_other.json()["data"]] == ["product"]
    assert not {mine, live_product} & {e["target"]["id"] for e in as_other.json()["data"]}


async def test_members_read_everything_of_their_workspace_newest_first(
    client: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    api_clock.advance(timedelta(seconds=1))
    viewer, viewer_id = await join(client, owner, workspace_id, "viewer")
    api_clock.advance(timedelta(seconds=1))
    key = await client.post(
        "/v1/api_keys", json={"name": "k", "mode": "test"}, headers=owner.headers(workspace_id)
    )
    api_clock.advance(timedelta(seconds=1))
    product = await client.post(
        "/v1/products",
        json={"name": "Pro"},
        headers={"Authorization": f"Bearer {key.json()['secret']}"},
    )
    stranger, stranger_workspace = await owner_of_new_workspace(client, "Stranger")

    log = await client.get("/v1/audit_log", headers=viewer.headers(workspace_id))
    page = await client.get("/v1/audit_log?limit=2", headers=owner.headers(workspace_id))
    intruding = await client.get("/v1/audit_log", headers=stranger.headers(workspace_id))
    own = await client.get("/v1/audit_log", headers=stranger.headers(stranger_workspace))

    assert log.status_code == 200
    data = log.json()["data"]
    assert [(e["action"], e["target"]["id"], e["livemode"]) for e in data[:2]] == [
        ("POST /v1/products", product.json()["id"], False),
        ("api_key.created", key.json()["id"], None),
    ]
    # Invited and joined in the same second: their order is the ids'.
    joined = {e["action"]: e for e in data[2:4]}
    assert sorted(joined) == ["invitation.accepted", "invitation.created"]
    assert joined["invitation.accepted"]["actor"] == {"type": "account", "id": viewer.account_id}
    assert joined["invitation.accepted"]["details"] == {"member": viewer_id, "role": "viewer"}
    assert joined["invitation.created"]["actor"] == {"type": "account", "id": owner.account_id}
    assert [(e["action"], e["target"]["id"]) for e in data[4:]] == [
        ("workspace.created", workspace_id)
    ]
    assert data[4]["created"] == to_unix(api_clock.now()) - 3
    assert [e["id"] for e in page.json()["data"]] == [e["id"] for e in log.json()["data"][:2]]
    assert page.json()["has_more"] is True
    assert intruding.status_code == 404
    assert [e["action"] for e in own.json()["data"]] == ["workspace.created"]
