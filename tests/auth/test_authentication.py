from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.keys import hash_secret
from cyphera.auth.scope import Scope
from cyphera.auth.service import revoke_api_key
from cyphera.db.engine import transaction
from cyphera.kit.clock import FrozenClock
from cyphera.models.api_key import ApiKey, ApiKeyKind
from cyphera.models.mixins import Mode
from cyphera.models.product import Product
from tests.fixtures.api import MakeApiKey, WorkspaceKeys


async def test_no_key_is_401_api_key_missing(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/prices")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == "api_key_missing"
    assert error["param"] is None


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer sk_test_" + "a" * 32,  # well formed, unknown
        "Bearer sk_test_short",
        "Bearer not-a-key",
        "Basic c2tfdGVzdF94eHg6",
        "sk_test_" + "a" * 32,
    ],
)
async def test_bad_key_is_401_api_key_invalid(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/v1/prices", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"


async def test_revoked_key_is_refused_and_other_keys_still_work(
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    api_clock: FrozenClock,
) -> None:
    second = await make_api_key(workspace.workspace_id)
    async with transaction(sessionmaker) as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.secret_hash == hash_secret(workspace.secret_key))
        )
        assert key_id is not None
        await revoke_api_key(
            session,
            scope=Scope(workspace.workspace_id, Mode.TEST),
            api_key_id=key_id,
            clock=api_clock,
        )

    revoked = await client.get("/v1/prices", headers=workspace.headers)
    other = await client.get("/v1/prices", headers={"Authorization": f"Bearer {second}"})

    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "api_key_revoked"
    assert other.status_code == 200


async def test_restricted_key_reads_but_cannot_write(
    client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    product = (await api.post("/v1/products", json={"name": "Pro"})).json()
    restricted = await make_api_key(workspace.workspace_id, kind=ApiKeyKind.RESTRICTED)
    headers = {"Authorization": f"Bearer {restricted}"}

    read = await client.get(f"/v1/products/{product['id']}", headers=headers)
    listed = await client.get("/v1/products", headers=headers)
    create = await client.post("/v1/products", json={"name": "Sneaky"}, headers=headers)
    update = await client.post(
        f"/v1/products/{product['id']}", json={"name": "Renamed"}, headers=headers
    )

    assert read.status_code == 200
    assert [p["id"] for p in listed.json()["data"]] == [product["id"]]
    for refused in (create, update):
        assert refused.status_code == 403
        assert refused.json()["error"] == {
            "type": "permission_error",
            "code": "permission_denied",
            "message": refused.json()["error"]["message"],
            "param": None,
        }
    async with sessionmaker() as session:
        names = (await session.scalars(select(Product.name))).all()
    assert names == ["Pro"]


async def test_last_used_is_recorded_at_most_once_a_minute(
    api: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    sessionmaker: async_sessionmaker[AsyncSession],
    api_clock: FrozenClock,
) -> None:
    async def last_used() -> object:
        async with sessionmaker() as session:
            return await session.scalar(
                select(ApiKey.last_used_at).where(
                    ApiKey.secret_hash == hash_secret(workspace.secret_key)
                )
            )

    assert await last_used() is None
    first_use = api_clock.now()
    await api.get("/v1/prices")
    assert await last_used() == first_use

    api_clock.advance(timedelta(seconds=59))
    await api.get("/v1/prices")
    assert await last_used() == first_use

    api_clock.advance(timedelta(seconds=2))
    await api.get("/v1/prices")
    assert await last_used() == api_clock.now()


async def test_test_and_live_keys_see_disjoint_data(
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    live_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)
    live = {"Authorization": f"Bearer {live_key}"}

    test_product = (
        await client.post("/v1/products", json={"name": "Test"}, headers=workspace.headers)
    ).json()
    live_product = (await client.post("/v1/products", json={"name": "Live"}, headers=live)).json()

    test_list = (await client.get("/v1/products", headers=workspace.headers)).json()
    live_list = (await client.get("/v1/products", headers=live)).json()
    cross = await client.get(f"/v1/products/{test_product['id']}", headers=live)

    assert test_product["livemode"] is False
    assert live_product["livemode"] is True
    assert [p["id"] for p in test_list["data"]] == [test_product["id"]]
    assert [p["id"] for p in live_list["data"]] == [live_product["id"]]
    assert cross.status_code == 404
    assert cross.json()["error"]["code"] == "resource_missing"
    async with sessionmaker() as session:
        by_mode = dict(
            (await session.execute(select(Product.mode, func.count()).group_by(Product.mode))).all()
        )
    assert by_mode == {Mode.TEST: 1, Mode.LIVE: 1}
