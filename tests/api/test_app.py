from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api.app import create_app
from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.catalog.schemas import ProductCreate
from cyphera.catalog.service import create_product
from cyphera.config import DatabaseSettings, Environment, Settings
from cyphera.db.cluster import free_port
from cyphera.exceptions import Conflict
from cyphera.kit.clock import FrozenClock
from cyphera.models.product import Product
from tests.fixtures.api import WorkspaceKeys, serve


async def test_healthz_answers_with_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"].startswith("req_")


async def test_a_sane_incoming_request_id_is_kept_and_an_odd_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/healthz", headers={"X-Request-Id": "lb-1234.abcd"})
    replaced = await client.get("/healthz", headers={"X-Request-Id": "x" * 500})

    assert kept.headers["x-request-id"] == "lb-1234.abcd"
    assert replaced.headers["x-request-id"].startswith("req_")


async def test_readyz_is_200_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_503_and_healthz_200_when_the_database_is_down() -> None:
    dead = DatabaseSettings(
        url=f"postgresql+psycopg://cyphera@127.0.0.1:{free_port()}/nowhere",
        pool_size=1,
    )
    app = create_app(Settings(environment=Environment.TEST, database=dead))
    with serve(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            ready = await http.get("/readyz")
            health = await http.get("/healthz")
            api = await http.get(
                "/v1/prices", headers={"Authorization": "Bearer sk_test_" + "a" * 32}
            )

    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "database_unavailable"
    assert health.status_code == 200
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "service_unavailable"


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    docs = await client.get("/docs")

    assert docs.status_code == 200
    paths = document["paths"]
    assert {
        "/v1/products",
        "/v1/products/{product_id}",
        "/v1/prices",
        "/v1/prices/{price_id}",
        "/v1/payout_addresses",
        "/v1/payout_addresses/{network}",
        "/healthz",
        "/readyz",
    } <= set(paths)
    assert set(paths["/v1/products"]) == {"get", "post"}
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    create_price = paths["/v1/prices"]["post"]
    assert create_price["security"] == [{"ApiKey": []}]
    assert {"200", "400", "401", "403", "404"} <= set(create_price["responses"])
    assert "422" not in create_price["responses"]
    schemas = document["components"]["schemas"]
    assert "ErrorResponse" in schemas
    assert "HTTPValidationError" not in schemas
    assert schemas["Price"]["examples"][0]["object"] == "price"


async def test_unknown_route_and_wrong_method_use_the_error_shape(
    api: httpx.AsyncClient,
) -> None:
    unknown = await api.get("/v1/nothing_here")
    wrong_method = await api.delete("/v1/prices")

    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unrecognized_request_url"
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, POST"
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b'{"name": ', "application/json", "json_invalid"),
        (b'["Pro"]', "application/json", "body_invalid"),
        (b'"Pro"', "application/json", "body_invalid"),
        (b"name=Pro", "application/x-www-form-urlencoded", "body_invalid"),
        (b'{"name": "Pro", "x": ' + b"9" * 5000 + b"}", "application/json", "invalid_request"),
        # Deep enough to overflow the C stack under py_ecc's recursion limit: refused unparsed.
        (
            b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "application/json",
            "json_too_deep",
        ),
        (b"[" * 300, "application/json; charset=utf-8", "json_too_deep"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_400(
    api: httpx.AsyncClient, content: bytes, content_type: str, code: str
) -> None:
    response = await api.post(
        "/v1/products", content=content, headers={"Content-Type": content_type}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


async def test_a_huge_body_is_413_whether_announced_or_streamed(api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    announced = await api.post("/v1/products", json={"name": "x" * (1024 * 1024 + 1)})
    streamed = await api.post(
        "/v1/products", content=chunks(), headers={"Content-Type": "application/json"}
    )

    for response in (announced, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"


async def test_an_error_rolls_back_what_the_request_wrote_and_a_bug_is_a_500(
    api_settings: Settings,
    api_clock: FrozenClock,
    workspace: WorkspaceKeys,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    app = create_app(api_settings, clock=api_clock)
    _add_failing_routes(app)

    with serve(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers=workspace.headers) as http:
            conflict = await http.post("/test/write-then-conflict")
            crash = await http.post("/test/write-then-crash")

    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    assert crash.status_code == 500
    assert crash.json() == {
        "error": {
            "type": "api_error",
            "code": "internal_error",
            "message": crash.json()["error"]["message"],
            "param": None,
        }
    }
    assert "secret detail" not in crash.text
    assert crash.headers["x-request-id"].startswith("req_")
    async with sessionmaker() as session:
        assert (await session.scalars(select(Product))).all() == []


def _add_failing_routes(app: FastAPI) -> None:
    async def write(auth: AuthDep, session: SessionDep, clock: ClockDep) -> None:
        await create_product(
            session, scope=auth.scope, data=ProductCreate(name="Ghost"), clock=clock
        )

    async def write_then_conflict(auth: AuthDep, session: SessionDep, clock: ClockDep) -> None:
        await write(auth, session, clock)
        raise Conflict("the state forbids it")

    async def write_then_crash(auth: AuthDep, session: SessionDep, clock: ClockDep) -> None:
        await write(auth, session, clock)
        raise RuntimeError("secret detail")

    app.add_api_route("/test/write-then-conflict", write_then_conflict, methods=["POST"])
    app.add_api_route("/test/write-then-crash", write_then_crash, methods=["POST"])
