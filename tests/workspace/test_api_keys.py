"""``/v1/api_keys``: members create, list and revoke the keys integrations use."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.keys import hash_secret
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.api_key import ApiKey
from cyphera.models.audit_entry import AuditEntry
from tests.auth.signin import owner_of_new_workspace


async def test_created_key_is_shown_once_and_works(
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    headers = owner.headers(workspace_id)

    created = await client.post(
        "/v1/api_keys", json={"name": "Server", "mode": "test"}, headers=headers
    )
    secret = created.json()["secret"]
    listed = await client.get("/v1/api_keys", headers=headers)
    used = await client.post(
        "/v1/products", json={"name": "Pro"}, headers={"Authorization": f"Bearer {secret}"}
    )

    assert created.status_code == 200
    assert created.json() == {
        "id": created.json()["id"],
        "object": "api_key",
        "created": to_unix(api_clock.now()),
        "last_used": None,
        "livemode": False,
        "name": "Server",
        "redacted": secret[:12],
        "revoked": None,
        "secret": secret,
        "type": "secret",
    }
    assert secret.startswith("sk_test_")
    assert listed.json()["data"] == [{**created.json(), "secret": None}]
    assert used.status_code == 200
    async with sessionmaker() as session:
        stored = await session.get(ApiKey, created.json()["id"])
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "api_key.created")
        )
    assert stored is not None
    assert stored.workspace_id == workspace_id
    assert stored.secret_hash == hash_secret(secret)
    assert entry is not None
    assert (entry.actor_id, entry.workspace_id, entry.object_id, entry.details) == (
        owner.account_id,
        workspace_id,
        created.json()["id"],
        {"mode": "test", "type": "secret"},
    )


async def test_restricted_live_key_reads_only(client: httpx.AsyncClient) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)

    created = await client.post(
        "/v1/api_keys",
        json={"name": "Reporting", "mode": "live", "type": "restricted"},
        headers=owner.headers(workspace_id),
    )
    key_headers = {"Authorization": f"Bearer {created.json()['secret']}"}
    read = await client.get("/v1/products", headers=key_headers)
    write = await client.post("/v1/products", json={"name": "x"}, headers=key_headers)

    assert created.json()["secret"].startswith("rk_live_")
    assert created.json()["livemode"] is True
    assert created.json()["type"] == "restricted"
    assert read.status_code == 200
    assert write.status_code == 403


async def test_revoked_key_stops_working_and_revoking_again_changes_nothing(
    client: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    headers = owner.headers(workspace_id)
    created = await client.post("/v1/api_keys", json={"name": "k", "mode": "test"}, headers=headers)
    key_id = created.json()["id"]

    revoked = await client.post(f"/v1/api_keys/{key_id}/revoke", headers=headers)
    again = await client.post(f"/v1/api_keys/{key_id}/revoke", headers=headers)
    used = await client.get(
        "/v1/products", headers={"Authorization": f"Bearer {created.json()['secret']}"}
    )

    assert revoked.status_code == 200
    assert revoked.json()["revoked"] == to_unix(api_clock.now())
    assert revoked.json()["secret"] is None
    assert again.json() == revoked.json()
    assert used.status_code == 401
    assert used.json()["error"]["code"] == "api_key_revoked"


async def test_keys_are_listed_by_mode(client: httpx.AsyncClient) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    headers = owner.headers(workspace_id)
    test = await client.post("/v1/api_keys", json={"name": "t", "mode": "test"}, headers=headers)
    live = await client.post("/v1/api_keys", json={"name": "l", "mode": "live"}, headers=headers)

    everything = await client.get("/v1/api_keys", headers=headers)
    only_live = await client.get("/v1/api_keys?mode=live", headers=headers)
    bad = await client.get("/v1/api_keys?mode=prod", headers=headers)

    assert {k["id"] for k in everything.json()["data"]} == {test.json()["id"], live.json()["id"]}
    assert [k["id"] for k in only_live.json()["data"]] == [live.json()["id"]]
    assert bad.status_code == 400


async def test_another_workspaces_key_is_not_found(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    other_owner, other_workspace = await owner_of_new_workspace(client, "Other")
    theirs = await client.post(
        "/v1/api_keys",
        json={"name": "theirs", "mode": "test"},
        headers=other_owner.headers(other_workspace),
    )

    response = await client.post(
        f"/v1/api_keys/{theirs.json()['id']}/revoke", headers=owner.headers(workspace_id)
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    async with sessionmaker() as session:
        key = await session.get(ApiKey, theirs.json()["id"])
    assert key is not None
    assert key.revoked_at is None


@pytest.mark.parametrize(
    "body",
    [
        {"name": "k"},
        {"name": "k", "mode": "prod"},
        {"name": "k", "mode": "test", "type": "admin"},
        {"name": "", "mode": "test"},
        {"name": "k", "mode": "test", "workspace": "ws_x"},
    ],
)
async def test_bad_key_requests_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)

    response = await client.post("/v1/api_keys", json=body, headers=owner.headers(workspace_id))

    assert response.status_code == 400
    listed = await client.get("/v1/api_keys", headers=owner.headers(workspace_id))
    assert listed.json()["data"] == []
