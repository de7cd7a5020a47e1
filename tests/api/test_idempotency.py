from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api import idempotency
from cyphera.auth.service import find_api_key_id
from cyphera.kit.clock import FrozenClock
from cyphera.models.idempotency_key import IdempotencyKey
from cyphera.models.product import Product
from tests.fixtures.api import MakeWorkspace, WorkspaceKeys


async def _product_names(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        return sorted((await session.scalars(select(Product.name))).all())


async def test_a_retried_post_replays_the_first_response(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "order-42"}

    first = await api.post("/v1/products", json={"name": "Pro", "active": True}, headers=headers)
    # The same request, its JSON keys in another order: still the same request.
    retry = await api.post("/v1/products", json={"active": True, "name": "Pro"}, headers=headers)

    assert first.status_code == retry.status_code == 200
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["original-request"] == first.headers["x-request-id"]
    assert "idempotent-replayed" not in first.headers
    assert await _product_names(sessionmaker) == ["Pro"]


async def test_the_same_key_with_other_parameters_is_400(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "order-43"}
    await api.post("/v1/products", json={"name": "Pro"}, headers=headers)

    reused = await api.post("/v1/products", json={"name": "Other"}, headers=headers)

    assert reused.status_code == 400
    assert reused.json()["error"]["type"] == "idempotency_error"
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert await _product_names(sessionmaker) == ["Pro"]


async def test_keys_are_scoped_per_api_key(
    client: httpx.AsyncClient,
    make_workspace: MakeWorkspace,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await make_workspace("One"), await make_workspace("Two")

    for keys in (first, second):
        response = await client.post(
            "/v1/products",
            json={"name": "Pro"},
            headers={**keys.headers, "Idempotency-Key": "shared-key"},
        )
        assert response.status_code == 200
        assert "idempotent-replayed" not in response.headers

    assert await _product_names(sessionmaker) == ["Pro", "Pro"]


async def test_a_key_in_use_by_a_running_request_is_409(
    api: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Hold the key's lock as a still-running first request would.
    async with sessionmaker() as session:
        principal_id = await find_api_key_id(session, secret=workspace.secret_key)
        assert principal_id is not None
        keyed = idempotency.idempotent_request(
            principal_id=principal_id, key="busy", method="POST", path="/v1/products", body=b""
        )
        locked = await session.scalar(
            select(
                func.pg_try_advisory_xact_lock(
                    cast(idempotency._LOCK_NAMESPACE, Integer),
                    cast(idempotency._lock_key(keyed), Integer),
                )
            )
        )
        assert locked is True

        in_use = await api.post(
            "/v1/products", json={"name": "Pro"}, headers={"Idempotency-Key": "busy"}
        )
        await session.rollback()

    after = await api.post(
        "/v1/products", json={"name": "Pro"}, headers={"Idempotency-Key": "busy"}
    )

    assert in_use.status_code == 409
    assert in_use.json()["error"]["code"] == "idempotency_key_in_use"
    assert after.status_code == 200
    assert await _product_names(sessionmaker) == ["Pro"]


async def test_a_key_is_remembered_for_24_hours(
    api: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    headers = {"Idempotency-Key": "daily"}
    first = await api.post("/v1/products", json={"name": "Pro"}, headers=headers)

    api_clock.advance(timedelta(hours=23, minutes=59))
    within = await api.post("/v1/products", json={"name": "Pro"}, headers=headers)
    api_clock.advance(timedelta(minutes=2))
    after = await api.post("/v1/products", json={"name": "Pro"}, headers=headers)

    assert within.json()["id"] == first.json()["id"]
    assert after.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in after.headers
    assert await _product_names(sessionmaker) == ["Pro", "Pro"]
    async with sessionmaker() as session:
        assert len((await session.scalars(select(IdempotencyKey))).all()) == 1


async def test_errors_are_not_stored_so_a_retry_runs_again(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "will-fail"}
    body = {"product": "prod_doesnotexist", "unit_amount": 100, "currency": "usd"}

    first = await api.post("/v1/prices", json=body, headers=headers)
    second = await api.post("/v1/prices", json=body, headers=headers)

    assert first.status_code == second.status_code == 404
    assert "idempotent-replayed" not in second.headers
    async with sessionmaker() as session:
        assert (await session.scalars(select(IdempotencyKey))).all() == []


async def test_an_unusable_idempotency_key_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/products", json={"name": "Pro"}, headers={"Idempotency-Key": "k" * 256}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"


async def test_concurrent_requests_with_one_key_create_one_object(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "race"}

    responses = await asyncio.gather(
        *(api.post("/v1/products", json={"name": "Pro"}, headers=headers) for _ in range(8))
    )

    created = {r.json()["id"] for r in responses if r.status_code == 200}
    refused = [r for r in responses if r.status_code != 200]
    assert len(created) == 1
    assert all(r.status_code == 409 for r in refused)
    assert all(r.json()["error"]["code"] == "idempotency_key_in_use" for r in refused)
    assert await _product_names(sessionmaker) == ["Pro"]


async def test_stored_responses_are_sealed_so_a_secret_shown_once_is_not_kept_readable(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a webhook endpoint created with an Idempotency-Key (its response holds the secret)
    headers = {"Idempotency-Key": "hook-1"}
    body = {"url": "https://example.com/hook", "enabled_events": ["*"]}
    first = await api.post("/v1/webhook_endpoints", json=body, headers=headers)
    secret = first.json()["secret"]

    # When it is retried
    retry = await api.post("/v1/webhook_endpoints", json=body, headers=headers)

    # Then the retry replays the secret, yet the stored record holds neither it nor the body
    assert retry.content == first.content
    async with sessionmaker() as session:
        stored = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "hook-1"))
    assert stored is not None
    assert secret.encode() not in stored.response_body
    assert b"webhook_endpoint" not in stored.response_body


async def test_a_stored_response_that_does_not_open_is_a_conflict_not_a_second_request(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Given a keyed create whose stored response was sealed under another key (or edited)
    headers = {"Idempotency-Key": "order-77"}
    await api.post("/v1/products", json={"name": "Pro"}, headers=headers)
    async with sessionmaker() as session, session.begin():
        stored = await session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.key == "order-77")
        )
        assert stored is not None
        stored.response_body = b"\x01" + bytes(40)

    # When it is retried
    retry = await api.post("/v1/products", json={"name": "Pro"}, headers=headers)

    # Then it is refused, and nothing is created twice
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "idempotency_key_unreadable"
    assert await _product_names(sessionmaker) == ["Pro"]


def _fingerprint(body: bytes, content_type: str | None) -> str:
    return idempotency.idempotent_request(
        principal_id="key_1",
        key="k",
        method="POST",
        path="/v1/products",
        body=body,
        content_type=content_type,
    ).fingerprint


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
def test_a_json_body_is_compared_as_canonical_json(content_type: str) -> None:
    first = _fingerprint(b'{"name": "Pro", "active": true}', content_type)
    reordered = _fingerprint(b'{"active":true,"name":"Pro"}', content_type)
    changed = _fingerprint(b'{"active":true,"name":"Max"}', content_type)

    assert first == reordered
    assert first != changed


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/jsonp", "text/json"])
def test_a_body_not_labelled_json_is_compared_byte_for_byte(content_type: str | None) -> None:
    first = _fingerprint(b'{"name": "Pro", "active": true}', content_type)
    reordered = _fingerprint(b'{"active":true,"name":"Pro"}', content_type)

    assert first != reordered
    assert first == _fingerprint(b'{"name": "Pro", "active": true}', content_type)


def test_a_deeply_nested_json_body_is_fingerprinted_without_parsing_it() -> None:
    # Parsing this under py_ecc's recursion limit (pytest has it too) would crash the process.
    deep = b"[" * 200_000 + b"]" * 200_000

    assert _fingerprint(deep, "application/json") == _fingerprint(deep, "text/plain")
