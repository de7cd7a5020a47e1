"""The sign-in endpoints are rate limited per client address, and a refused request changes nothing.

The client address is the connection's peer unless trusted proxies are configured; a client's own
``X-Forwarded-For`` never opens a new window.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api.app import create_app
from cyphera.config import ApiSettings, AuthSettings, DatabaseSettings, Environment, Settings
from cyphera.kit.clock import FrozenClock
from cyphera.models.siwe_nonce import SiweNonce
from tests.auth.signin import new_wallet, sign, siwe_text
from tests.fixtures.api import serve
from tests.fixtures.process import ApiProcess

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


async def test_rotating_x_forwarded_for_does_not_open_a_new_window(database_url: str) -> None:
    # The real command: uvicorn's own X-Forwarded-For handling believed any client on loopback.
    env = {"CYPHERA_DATABASE__URL": database_url, "CYPHERA_AUTH__SIGN_IN_RATE_LIMIT": "3/minute"}
    with ApiProcess(env) as api:
        async with httpx.AsyncClient(base_url=api.base_url) as http:
            # Given no trusted proxies (the default), and a client that used up its window
            used = [
                await http.post(
                    "/v1/auth/siwe/nonce", headers={"X-Forwarded-For": f"198.51.100.{n}"}
                )
                for n in range(LIMIT)
            ]
            # When it claims to be someone else
            refused = await http.post(
                "/v1/auth/siwe/nonce", headers={"X-Forwarded-For": "203.0.113.9"}
            )

    # Then it is still itself
    assert [r.status_code for r in used] == [200] * LIMIT
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


async def test_behind_trusted_proxies_each_forwarded_client_has_its_own_window(
    database_settings: DatabaseSettings, api_clock: FrozenClock
) -> None:
    settings = Settings(
        environment=Environment.TEST,
        database=database_settings,
        api=ApiSettings(trusted_proxies=["127.0.0.0/8"]),  # type: ignore[list-item]
        auth=AuthSettings(sign_in_rate_limit=f"{LIMIT}/minute"),
    )
    with serve(create_app(settings, clock=api_clock)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:

            async def nonce(forwarded_for: str) -> int:
                response = await http.post(
                    "/v1/auth/siwe/nonce", headers={"X-Forwarded-For": forwarded_for}
                )
                return response.status_code

            # The proxy appended the real address; what the client put before it is spoofed.
            first = [await nonce(f"10.0.0.{n}, 203.0.113.1") for n in range(LIMIT + 1)]
            other = await nonce("203.0.113.2")
            spoofed_as_other = await nonce("203.0.113.2, 203.0.113.1")

    assert first == [200] * LIMIT + [429]
    assert other == 200
    assert spoofed_as_other == 429
