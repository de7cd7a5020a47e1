"""The sign-in endpoints are rate limited per client address, and a refused request changes nothing."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import AuthSettings, DatabaseSettings, Environment, Settings
from cyphera.models.siwe_nonce import SiweNonce
from tests.auth.signin import new_wallet, sign, siwe_text

LIMIT = 3


@pytest.fixture
def api_settings(database_settings: DatabaseSettings) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database=database_settings,
        auth=AuthSettings(sign_in_rate_limit=f"{LIMIT}/minute"),
    )


async def test_over_the_limit_is_429_with_retry_after_and_issues_no_nonce(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a client that used up its sign-in requests (two nonces and a verify)
    first = (await client.post("/v1/auth/siwe/nonce")).json()["nonce"]
    await client.post("/v1/auth/siwe/nonce")
    wallet = new_wallet()
    text = siwe_text(wallet.address, first)
    signed_in = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    # When it asks for another nonce, and tries to verify and to use OIDC
    refused = [
        await client.post("/v1/auth/siwe/nonce"),
        await client.post("/v1/auth/siwe/verify", json={"message": text, "signature": "0x00"}),
        await client.post("/v1/auth/oidc/verify", json={"id_token": "x.y.z"}),
    ]

    # Then each is 429 rate_limited with a Retry-After, and no nonce was issued
    assert signed_in.status_code == 200
    for response in refused:
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(SiweNonce)) == 2
    # Authenticated endpoints are not counted: the session still works
    me = await client.get(
        "/v1/account", headers={"Authorization": f"Bearer {signed_in.json()['token']}"}
    )
    assert me.status_code == 200


@pytest.mark.parametrize("rate", ["", "many", "3/fortnight", "-1/minute"])
def test_unreadable_rates_are_refused_at_start_up(rate: str) -> None:
    with pytest.raises(ValidationError):
        AuthSettings(sign_in_rate_limit=rate)
