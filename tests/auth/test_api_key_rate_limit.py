"""Every API key has a rate limit (``CYPHERA_AUTH__API_KEY_RATE_LIMIT``): over it, 429."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api.app import create_app
from cyphera.config import AuthSettings, DatabaseSettings, Environment, Settings
from cyphera.models.product import Product
from tests.fixtures.api import MakeApiKey, WorkspaceKeys

LIMIT = 3


@pytest.fixture
def api_settings(database_settings: DatabaseSettings) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database=database_settings,
        auth=AuthSettings(api_key_rate_limit=f"{LIMIT}/minute"),
    )


async def test_over_the_limit_a_key_gets_429_with_retry_after_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Given a key that used up its requests
    used = [
        await client.post("/v1/products", json={"name": f"P{n}"}, headers=workspace.headers)
        for n in range(LIMIT)
    ]

    # When it sends more, reading and writing
    refused = [
        await client.post("/v1/products", json={"name": "Over"}, headers=workspace.headers),
        await client.get("/v1/products", headers=workspace.headers),
    ]
    other_key = await make_api_key(workspace.workspace_id)
    other = await client.get("/v1/products", headers={"Authorization": f"Bearer {other_key}"})

    # Then each is 429 rate_limited with a Retry-After, and nothing more was created
    assert [r.status_code for r in used] == [200] * LIMIT
    for response in refused:
        assert response.status_code == 429
        assert response.json()["error"] == {
            "type": "invalid_request_error",
            "code": "rate_limited",
            "message": response.json()["error"]["message"],
            "param": None,
        }
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == LIMIT
    # Another key of the same workspace has its own window
    assert other.status_code == 200


async def test_a_key_is_counted_before_it_is_looked_up(client: httpx.AsyncClient) -> None:
    unknown = {"Authorization": "Bearer sk_test_" + "x" * 32}

    answers = [(await client.get("/v1/products", headers=unknown)).status_code for _ in range(4)]

    assert answers == [401] * LIMIT + [429]


def test_an_unusable_rate_limit_store_stops_the_api_at_start_up(
    database_settings: DatabaseSettings,
) -> None:
    settings = Settings(
        environment=Environment.TEST,
        database=database_settings,
        auth=AuthSettings(rate_limit_storage_uri="nosuchstore://localhost"),
        encryption_key=SecretStr("k" * 32),
    )

    with pytest.raises(ValueError, match="rate-limit store"):
        create_app(settings)
