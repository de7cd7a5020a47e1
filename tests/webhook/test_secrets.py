from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import DEV_ENCRYPTION_KEY, Environment, Settings
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.webhook_endpoint import WebhookEndpoint
from cyphera.webhook.schemas import WebhookSecretRotation
from cyphera.webhook.secrets import SecretBox, SecretUndecryptable, new_signing_secret
from cyphera.webhook.service import signing_secrets

CREATE = {"url": "https://example.com/hooks", "enabled_events": ["*"]}
BOX = SecretBox(DEV_ENCRYPTION_KEY)


async def _row(sessionmaker: async_sessionmaker[AsyncSession], endpoint_id: str) -> WebhookEndpoint:
    async with sessionmaker() as session:
        row = await session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    assert row is not None
    return row


async def test_the_previous_secret_signs_until_its_overlap_ends(
    api: httpx.AsyncClient, api_clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()
    path = f"/v1/webhook_endpoints/{created['id']}"
    before = signing_secrets(await _row(sessionmaker, created["id"]), now=api_clock.now(), box=BOX)

    rotated = await api.post(path + "/rotate_secret", json={"expires_in_seconds": 3600})
    row = await _row(sessionmaker, created["id"])
    retrieved = await api.get(path)
    during = signing_secrets(row, now=api_clock.advance(timedelta(seconds=3599)), box=BOX)
    after = signing_secrets(row, now=api_clock.advance(timedelta(seconds=1)), box=BOX)

    new = rotated.json()["secret"]
    assert before == [created["secret"]]
    assert rotated.status_code == 200
    assert new != created["secret"]
    assert new.startswith("whsec_")
    assert rotated.json()["previous_secret_expires"] == to_unix(row.updated_at) + 3600
    assert retrieved.json()["previous_secret_expires"] == rotated.json()["previous_secret_expires"]
    assert "whsec_" not in retrieved.text
    assert during == [new, created["secret"]]
    assert after == [new]


async def test_rotation_overlaps_24_hours_by_default_and_keeps_only_two_secrets(
    api: httpx.AsyncClient, api_clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()
    path = f"/v1/webhook_endpoints/{created['id']}/rotate_secret"
    start = api_clock.now()

    first = (await api.post(path)).json()
    api_clock.advance(timedelta(hours=1))
    second = (await api.post(path, json={})).json()
    row = await _row(sessionmaker, created["id"])

    assert first["previous_secret_expires"] == to_unix(start + timedelta(hours=24))
    assert second["previous_secret_expires"] == to_unix(start + timedelta(hours=25))
    assert len({created["secret"], first["secret"], second["secret"]}) == 3
    assert signing_secrets(row, now=api_clock.now(), box=BOX) == [
        second["secret"],
        first["secret"],
    ]


async def test_a_zero_overlap_retires_the_previous_secret_at_once(
    api: httpx.AsyncClient, api_clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()
    path = f"/v1/webhook_endpoints/{created['id']}/rotate_secret"
    await api.post(path)

    rotated = (await api.post(path, json={"expires_in_seconds": 0})).json()
    row = await _row(sessionmaker, created["id"])

    assert rotated["previous_secret_expires"] is None
    assert (row.previous_secret_ciphertext, row.previous_secret_expires_at) == (None, None)
    assert signing_secrets(row, now=api_clock.now(), box=BOX) == [rotated["secret"]]


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in_seconds": -1},
        {"expires_in_seconds": 604_801},
        {"expires_in_seconds": "60"},
        {"expires_in_seconds": None},
        {"secret": "whsec_mine"},
    ],
)
async def test_a_bad_rotation_is_refused_and_keeps_the_secret(
    api: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, object],
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()

    response = await api.post(f"/v1/webhook_endpoints/{created['id']}/rotate_secret", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == next(iter(body))
    row = await _row(sessionmaker, created["id"])
    assert signing_secrets(row, now=api_clock.now(), box=BOX) == [created["secret"]]
    assert row.previous_secret_ciphertext is None


def test_the_longest_overlap_is_seven_days() -> None:
    assert WebhookSecretRotation(expires_in_seconds=604_800).expires_in_seconds == 7 * 86_400
    assert WebhookSecretRotation().expires_in_seconds == 86_400


def test_a_secret_decrypts_only_with_its_key_and_endpoint() -> None:
    secret = new_signing_secret()
    blob = BOX.encrypt(secret, endpoint_id="we_a")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])

    assert BOX.decrypt(blob, endpoint_id="we_a") == secret
    assert BOX.encrypt(secret, endpoint_id="we_a") != blob  # a fresh nonce each time
    for wrong in (
        lambda: BOX.decrypt(blob, endpoint_id="we_b"),
        lambda: SecretBox("another-server-secret-of-32-chars-at-least").decrypt(
            blob, endpoint_id="we_a"
        ),
        lambda: BOX.decrypt(tampered, endpoint_id="we_a"),
        lambda: BOX.decrypt(b"\x02" + blob[1:], endpoint_id="we_a"),
        lambda: BOX.decrypt(b"", endpoint_id="we_a"),
    ):
        with pytest.raises(SecretUndecryptable):
            wrong()


def test_secrets_are_32_random_bytes() -> None:
    secrets = {new_signing_secret() for _ in range(100)}

    assert len(secrets) == 100
    assert all(len(s) == len("whsec_") + 44 for s in secrets)


def test_the_server_secret_must_be_real_in_production() -> None:
    real = SecretStr("a-real-webhook-key-from-the-secrets-store")
    production = {
        "environment": Environment.PRODUCTION,
        "signer": {"token": "a-real-signer-token-from-the-secrets-store"},
        "database": {"url": "postgresql+psycopg://app@db.internal/cyphera"},
    }

    with pytest.raises(ValidationError, match="CYPHERA_ENCRYPTION_KEY"):
        Settings(**production)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(**production, encryption_key=SecretStr("too-short"))  # type: ignore[arg-type]
    settings = Settings(**production, encryption_key=real)  # type: ignore[arg-type]
    assert settings.encryption_key == real
