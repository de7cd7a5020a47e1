"""Signing in with Ethereum over the real API: nonces, replay, domain/chain/time binding, sessions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.keys import hash_secret
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.account import Account
from cyphera.models.account_session import AccountSession
from cyphera.models.audit_entry import AuditEntry
from cyphera.models.siwe_nonce import SiweNonce
from tests.auth.signin import iso, new_wallet, nonce, sign, sign_in, siwe_text


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: type[Any]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_nonce_says_what_the_message_must_name(
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    response = await client.post("/v1/auth/siwe/nonce")

    body = response.json()
    assert response.status_code == 200
    assert body == {
        "object": "siwe_nonce",
        "nonce": body["nonce"],
        "domain": "127.0.0.1:8000",
        "chain_ids": [1],
        "created": to_unix(api_clock.now()),
        "expires": to_unix(api_clock.now()) + 600,
    }
    assert len(body["nonce"]) == 24
    assert body["nonce"].isalnum()
    async with sessionmaker() as session:
        stored = await session.get(SiweNonce, body["nonce"])
    assert stored is not None
    assert stored.used_at is None


async def test_sign_in_opens_a_session_for_the_wallets_account(
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, await nonce(client))

    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )
    token = response.json()["token"]
    account = await client.get("/v1/account", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": body["id"],
        "object": "session",
        "account": account.json(),
        "expires": to_unix(api_clock.now()) + 12 * 3600,
        "method": "siwe",
        "token": token,
    }
    assert token.startswith("sess_")
    assert len(token) == 45
    assert account.json() == {
        "id": account.json()["id"],
        "object": "account",
        "created": to_unix(api_clock.now()),
        "email": None,
        "oidc_issuer": None,
        "oidc_subject": None,
        "wallet_address": wallet.address,
    }
    async with sessionmaker() as session:
        stored = await session.scalar(select(AccountSession))
        entry = await session.scalar(select(AuditEntry))
    assert stored is not None
    assert stored.token_hash == hash_secret(token)  # only the hash is kept
    assert entry is not None
    assert (entry.action, entry.actor_id, entry.object_id, entry.workspace_id) == (
        "session.created",
        account.json()["id"],
        body["id"],
        None,
    )


async def test_signing_in_again_reuses_the_account(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wallet = new_wallet()

    first = await sign_in(client, wallet)
    second = await sign_in(client, wallet)

    assert first.account_id == second.account_id
    assert first.token != second.token
    assert await _count(sessionmaker, Account) == 1
    assert await _count(sessionmaker, AccountSession) == 2


async def test_replayed_message_is_refused_and_opens_no_session(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, await nonce(client))
    body = {"message": text, "signature": sign(wallet, text)}
    first = await client.post("/v1/auth/siwe/verify", json=body)

    replay = await client.post("/v1/auth/siwe/verify", json=body)

    assert first.status_code == 200
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "siwe_nonce_used"
    assert await _count(sessionmaker, AccountSession) == 1


async def test_nonce_never_issued_is_refused(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, "MadeUpByTheClient123")

    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "siwe_nonce_invalid"
    assert await _count(sessionmaker, Account) == 0


async def test_nonce_expires_after_ten_minutes(
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    wallet = new_wallet()
    issued = await nonce(client)
    api_clock.advance(timedelta(minutes=10))
    text = siwe_text(wallet.address, issued, issued_at=iso(api_clock.now()))

    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "siwe_nonce_expired"
    assert await _count(sessionmaker, AccountSession) == 0


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"domain": "evil.example"}, "siwe_domain_mismatch"),
        ({"scheme": "https"}, "siwe_domain_mismatch"),
        ({"uri": "https://evil.example/login"}, "siwe_uri_mismatch"),
        ({"chain_id": 8453}, "siwe_chain_mismatch"),
        ({"expiration_time": "2026-03-01T11:59:59Z"}, "siwe_message_expired"),
        ({"issued_at": "2026-03-01T12:05:00Z"}, "siwe_message_not_yet_valid"),
        ({"not_before": "2026-03-01T13:00:00Z"}, "siwe_message_not_yet_valid"),
    ],
)
async def test_message_for_another_site_chain_or_time_is_refused_and_keeps_its_nonce(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    code: str,
) -> None:
    wallet = new_wallet()
    issued = await nonce(client)
    text = siwe_text(wallet.address, issued, **overrides)

    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert await _count(sessionmaker, AccountSession) == 0
    async with sessionmaker() as session:
        stored = await session.get(SiweNonce, issued)
    assert stored is not None
    assert stored.used_at is None


async def test_bad_checksum_is_refused(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address.lower(), await nonce(client))

    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "siwe_address_checksum_invalid",
        "message": response.json()["error"]["message"],
        "param": "message",
    }
    assert await _count(sessionmaker, Account) == 0


async def test_malformed_message_is_a_400_naming_the_line(client: httpx.AsyncClient) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, await nonce(client)).replace("Version: 1", "Version: 2")

    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "siwe_message_invalid"
    assert "line 7" in response.json()["error"]["message"]


@pytest.mark.parametrize("field", ["issued_at", "expiration_time"])
@pytest.mark.parametrize("date", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
async def test_a_date_outside_the_calendar_in_utc_is_a_400_not_a_500(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    field: str,
    date: str,
) -> None:
    wallet = new_wallet()
    issued = await nonce(client)
    text = siwe_text(wallet.address, issued, **{field: date})

    response = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "siwe_message_invalid"
    assert response.json()["error"]["param"] == "message"
    assert await _count(sessionmaker, AccountSession) == 0
    async with sessionmaker() as session:
        stored = await session.get(SiweNonce, issued)
    assert stored is not None
    assert stored.used_at is None


async def test_signature_of_another_key_is_refused_and_the_nonce_stays_usable(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wallet, thief = new_wallet(), new_wallet()
    text = siwe_text(wallet.address, await nonce(client))

    forged = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(thief, text)}
    )
    sessions_after_forgery = await _count(sessionmaker, AccountSession)
    genuine = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )

    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "siwe_signature_invalid"
    assert sessions_after_forgery == 0
    assert genuine.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"message": "x", "signature": "0x" + "11" * 65, "extra": 1},
        {"message": 1, "signature": "0x11"},
        {"message": "x" * 9000, "signature": "0x11"},
        {"message": "x"},
        {"message": "x", "signature": "not hex"},
    ],
)
async def test_bad_bodies_are_400s(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/auth/siwe/verify", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_session_expiry_is_capped_by_the_messages_expiration_time(
    client: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, await nonce(client), expiration_time="2026-03-01T12:30:00Z")
    signed_in = await client.post(
        "/v1/auth/siwe/verify", json={"message": text, "signature": sign(wallet, text)}
    )
    headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}

    api_clock.advance(timedelta(minutes=29, seconds=59))
    before = await client.get("/v1/account", headers=headers)
    api_clock.advance(timedelta(seconds=1))
    after = await client.get("/v1/account", headers=headers)

    assert signed_in.json()["expires"] == to_unix(api_clock.now())
    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "session_expired"


async def test_logout_revokes_the_session_only(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    api_clock: FrozenClock,
) -> None:
    wallet = new_wallet()
    first, second = await sign_in(client, wallet), await sign_in(client, wallet)

    logout = await client.post("/v1/auth/logout", headers=first.headers())
    after = await client.get("/v1/account", headers=first.headers())
    again = await client.post("/v1/auth/logout", headers=first.headers())
    other = await client.get("/v1/account", headers=second.headers())

    assert logout.status_code == 200
    assert logout.json() == {"id": logout.json()["id"], "object": "session", "revoked": True}
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "session_invalid"
    assert again.status_code == 401
    assert other.status_code == 200
    async with sessionmaker() as session:
        revoked = await session.get(AccountSession, logout.json()["id"])
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert revoked is not None
    assert revoked.revoked_at == api_clock.now()
    assert sorted(actions) == ["session.created", "session.created", "session.revoked"]


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "session_missing"),
        ("Bearer sess_" + "a" * 40, "session_invalid"),
        ("Bearer sess_short", "session_invalid"),
        ("Basic abc", "session_invalid"),
    ],
)
async def test_session_endpoints_need_a_valid_session(
    client: httpx.AsyncClient, authorization: str | None, code: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await client.get("/v1/account", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code


async def test_an_api_key_cannot_manage(client: httpx.AsyncClient, workspace: Any) -> None:
    response = await client.get("/v1/workspaces", headers=workspace.headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_required"


async def test_a_session_token_is_not_an_api_key(client: httpx.AsyncClient) -> None:
    signed_in = await sign_in(client)

    response = await client.get("/v1/products", headers=signed_in.headers())

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_invalid"


async def test_oidc_is_refused_when_no_provider_is_configured(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/oidc/verify", json={"id_token": "a.b.c"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oidc_not_configured"


async def test_two_concurrent_uses_of_one_message_sign_in_once(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, await nonce(client))
    body = {"message": text, "signature": sign(wallet, text)}

    responses = await asyncio.gather(
        *(client.post("/v1/auth/siwe/verify", json=body) for _ in range(4))
    )

    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 401} == {
        "siwe_nonce_used"
    }
    assert await _count(sessionmaker, AccountSession) == 1
