"""OIDC sign-in against a real JWKS served over HTTP on loopback, with locally generated keys.

Two providers are configured: a plain one (RS256, ``sub``) and a Web3Auth-shaped one (ES256, the
user identified by ``verifier`` and ``verifierId``), plus one whose JWKS endpoint is down.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from Crypto.PublicKey import ECC, RSA
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import (
    AuthSettings,
    DatabaseSettings,
    Environment,
    OidcProviderSettings,
    Settings,
)
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.account import Account
from cyphera.models.account_session import AccountSession
from tests.auth.jose import b64url, ec_jwk, make_token, rsa_jwk
from tests.fixtures.loopback import loopback_server, reply

ISSUER = "https://issuer.test"
WEB3AUTH_ISSUER = "https://api-auth.web3auth.test"
DOWN_ISSUER = "https://down.test"
AUDIENCE = "cyphera-dashboard"
NOW = 1772366400  # 2026-03-01T12:00:00Z, the api_clock's time


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "email": "Dev@Example.com",
        "iat": NOW - 10,
        "exp": NOW + 3600,
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


@dataclass
class JwksServer:
    url: str
    keys: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0


@pytest.fixture(scope="module")
def rsa_key() -> RSA.RsaKey:
    return RSA.generate(2048)


@pytest.fixture(scope="module")
def ec_key() -> ECC.EccKey:
    return ECC.generate(curve="P-256")


@pytest.fixture
def jwks(rsa_key: RSA.RsaKey, ec_key: ECC.EccKey) -> Iterator[JwksServer]:
    state = JwksServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            body = json.dumps({"keys": state.keys}).encode()
            status = 200 if self.path == "/jwks" else 404
            reply(self, status, body, {"Content-Type": "application/json"})

        def log_message(self, format: str, *args: Any) -> None:
            return

    with loopback_server(Handler) as base_url:
        state.url = f"{base_url}/jwks"
        state.keys = [rsa_jwk(rsa_key, "rsa-1"), ec_jwk(ec_key, "ec-1")]
        yield state


@pytest.fixture
def api_settings(database_settings: DatabaseSettings, jwks: JwksServer) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database=database_settings,
        auth=AuthSettings(
            oidc_providers=[
                OidcProviderSettings(
                    name="test", issuer=ISSUER, jwks_url=jwks.url, audience=AUDIENCE
                ),
                OidcProviderSettings(
                    name="web3auth",
                    issuer=WEB3AUTH_ISSUER,
                    jwks_url=jwks.url,
                    audience=AUDIENCE,
                    algorithms=["ES256"],
                    subject_claims=["verifier", "verifierId"],
                ),
                OidcProviderSettings(
                    name="down",
                    issuer=DOWN_ISSUER,
                    jwks_url="http://127.0.0.1:9/jwks",
                    audience=AUDIENCE,
                ),
            ]
        ),
    )


async def _verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/v1/auth/oidc/verify", json={"id_token": token})


async def _sessions(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(AccountSession)) or 0)


async def test_id_token_signs_in_the_issuer_subjects_account(
    client: httpx.AsyncClient,
    rsa_key: RSA.RsaKey,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = await _verify(client, make_token(rsa_key, claims()))
    second = await _verify(client, make_token(rsa_key, claims(email="new@example.com")))
    account = await client.get(
        "/v1/account", headers={"Authorization": f"Bearer {second.json()['token']}"}
    )

    assert first.status_code == 200, first.text
    assert first.json()["method"] == "oidc"
    assert first.json()["expires"] == to_unix(api_clock.now()) + 12 * 3600
    assert first.json()["account"]["id"] == second.json()["account"]["id"]
    assert account.json() == {
        "id": first.json()["account"]["id"],
        "object": "account",
        "created": NOW,
        "email": "new@example.com",
        "oidc_issuer": ISSUER,
        "oidc_subject": "user-42",
        "wallet_address": None,
    }
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 1


async def test_web3auth_style_es256_token_identifies_by_verifier(
    client: httpx.AsyncClient, ec_key: ECC.EccKey
) -> None:
    token = make_token(
        ec_key,
        claims(iss=WEB3AUTH_ISSUER, sub=None, verifier="google", verifierId="alice@example.com"),
        kid="ec-1",
        alg="ES256",
    )

    response = await _verify(client, token)

    assert response.status_code == 200, response.text
    assert response.json()["account"]["oidc_issuer"] == WEB3AUTH_ISSUER
    assert response.json()["account"]["oidc_subject"] == "google|alice@example.com"


def _forged_signature(token: str, rsa_key: RSA.RsaKey) -> str:
    head, payload, _ = token.split(".")
    other = make_token(rsa_key, {"x": 1})
    return f"{head}.{payload}.{other.split('.')[2]}"


def _tampered(token: str) -> str:
    head, _, signature = token.split(".")
    return f"{head}.{b64url(json.dumps(claims(sub='admin')).encode())}.{signature}"


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda k, e: make_token(k, claims(aud="another-app")), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(aud=["x", "y"])), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(iss="https://unknown.test")), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(exp=NOW - 61)), "oidc_token_expired"),
        (lambda k, e: make_token(k, claims(exp=None)), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(exp="tomorrow")), "oidc_token_invalid"),
        # Beyond any float, and NaN (which compares false with every time: never expired).
        (lambda k, e: make_token(k, claims(exp=10**400)), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(exp=float("nan"))), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(iat=float("-inf"))), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(iat=NOW + 61)), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(nbf=NOW + 61)), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(sub=None)), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(sub="")), "oidc_token_invalid"),
        (lambda k, e: make_token(None, claims(), alg="none"), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(), alg="HS256"), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(), kid="unknown"), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(), header={"kid": None}), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(), header={"crit": ["exp"]}), "oidc_token_invalid"),
        # An EC key presented as the RSA key's kid, and the other way round.
        (lambda k, e: make_token(e, claims(), kid="rsa-1", alg="ES256"), "oidc_token_invalid"),
        (lambda k, e: make_token(k, claims(), kid="ec-1"), "oidc_token_invalid"),
        # Web3Auth allows ES256 only.
        (
            lambda k, e: make_token(
                k, claims(iss=WEB3AUTH_ISSUER, verifier="g", verifierId="a"), kid="rsa-1"
            ),
            "oidc_token_invalid",
        ),
        (lambda k, e: _tampered(make_token(k, claims())), "oidc_token_invalid"),
        (lambda k, e: "not.a.jwt", "oidc_token_invalid"),
        (lambda k, e: "one-part", "oidc_token_invalid"),
        (lambda k, e: "a.b.c.d", "oidc_token_invalid"),
        (lambda k, e: "e30.e30.!!!", "oidc_token_invalid"),
        (lambda k, e: b64url(b"[1]") + ".e30.", "oidc_token_invalid"),
    ],
)
async def test_untrustworthy_tokens_are_refused_and_sign_no_one_in(
    client: httpx.AsyncClient,
    rsa_key: RSA.RsaKey,
    ec_key: ECC.EccKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    build: Any,
    code: str,
) -> None:
    response = await _verify(client, build(rsa_key, ec_key))

    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code
    assert await _sessions(sessionmaker) == 0


async def test_signature_by_another_key_with_a_published_kid_is_refused(
    client: httpx.AsyncClient, rsa_key: RSA.RsaKey, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    impostor = RSA.generate(2048)

    response = await _verify(client, make_token(impostor, claims(), kid="rsa-1"))
    spliced = await _verify(client, _forged_signature(make_token(rsa_key, claims()), impostor))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the ID token's signature does not verify"
    assert spliced.status_code == 401
    assert await _sessions(sessionmaker) == 0


async def test_expiry_has_a_minute_of_leeway(
    client: httpx.AsyncClient, rsa_key: RSA.RsaKey
) -> None:
    response = await _verify(client, make_token(rsa_key, claims(exp=NOW - 59)))

    assert response.status_code == 200


async def test_unverified_email_is_not_kept(client: httpx.AsyncClient, rsa_key: RSA.RsaKey) -> None:
    response = await _verify(client, make_token(rsa_key, claims(email_verified=False)))

    assert response.json()["account"]["email"] is None


async def test_rotated_key_is_fetched_but_unknown_kids_do_not_flood_the_provider(
    client: httpx.AsyncClient,
    jwks: JwksServer,
    api_clock: FrozenClock,
) -> None:
    assert (
        await _verify(client, make_token(RSA.generate(2048), claims(), kid="x"))
    ).status_code == 401
    new_key = RSA.generate(2048)
    token = make_token(new_key, claims(iat=NOW + 30, exp=NOW + 3600), kid="rsa-2")
    fetches_before = jwks.hits

    unknown_yet = await _verify(client, token)
    jwks.keys.append(rsa_jwk(new_key, "rsa-2"))
    still_cached = await _verify(client, token)
    fetches_while_cached = jwks.hits
    api_clock.advance(timedelta(seconds=30))
    rotated = await _verify(client, token)

    assert unknown_yet.status_code == 401
    assert still_cached.status_code == 401
    assert fetches_while_cached == fetches_before  # nothing fetched within 30 s of the last
    assert rotated.status_code == 200, rotated.text
    assert jwks.hits == fetches_before + 1


async def test_provider_whose_keys_cannot_be_fetched_is_a_503(
    client: httpx.AsyncClient, rsa_key: RSA.RsaKey, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await _verify(client, make_token(rsa_key, claims(iss=DOWN_ISSUER)))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "oidc_provider_unavailable"
    assert await _sessions(sessionmaker) == 0
