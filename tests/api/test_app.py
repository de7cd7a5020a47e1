from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
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


def _has_example(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """`schema` (a body's or a response's) has an example: its own, its component's, its list
    items', or (an optional body, `X | None`) its non-null branch's."""
    if "examples" in schema or "example" in schema:
        return True
    if "anyOf" in schema:
        branches = [s for s in schema["anyOf"] if s != {"type": "null"}]
        return bool(branches) and all(_has_example(s, schemas) for s in branches)
    ref = schema.get("$ref")
    if ref is None:
        return False
    component = schemas[ref.split("/")[-1]]
    if "examples" in component or "example" in component:
        return True
    data = component.get("properties", {}).get("data")
    return data is not None and _has_example(data.get("items", {}), schemas)


async def test_every_operation_has_a_summary_and_examples(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]

    lacking = []
    for path, operations in document["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, operation in operations.items():
            content = operation["responses"]["200"]["content"]
            response = content.get("application/json")
            request = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not operation.get("summary"):
                lacking.append(f"{method.upper()} {path}: summary")
            if response is None:
                # Not JSON (a QR code's SVG): the media type documents its own example.
                if not all("example" in media or "examples" in media for media in content.values()):
                    lacking.append(f"{method.upper()} {path}: response example")
            elif not _has_example(response["schema"], schemas):
                lacking.append(f"{method.upper()} {path}: response example")
            if request is not None and not _has_example(request["schema"], schemas):
                lacking.append(f"{method.upper()} {path}: request example")

    assert len([p for p in document["paths"] if p.startswith("/v1")]) > 40
    assert lacking == []


def _subclasses(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for subclass in model.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def _api_models() -> dict[str, list[type[BaseModel]]]:
    """Cyphera's pydantic models (the app imports them all), by their OpenAPI component name."""
    create_app(Settings(environment=Environment.TEST))
    by_name: dict[str, list[type[BaseModel]]] = {}
    for model in _subclasses(BaseModel):
        if model.__module__.startswith("cyphera."):
            same_name = by_name.setdefault(re.sub(r"\W", "_", model.__name__), [])
            if model not in same_name:
                same_name.append(model)
    return by_name


def _valid(model: type[BaseModel], example: Any) -> bool:
    try:
        model.model_validate_json(json.dumps(example))
    except ValueError:
        return False
    return True


async def test_every_example_is_valid_for_its_model(client: httpx.AsyncClient) -> None:
    """Each component example parses as the body it documents: a request example is accepted
    (strict, extra fields refused, validators run) and a response example is a real response."""
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    models = _api_models()

    with_examples = {name: s["examples"] for name, s in schemas.items() if "examples" in s}
    invalid = [
        (name, example)
        for name, examples in with_examples.items()
        for example in examples
        if not any(_valid(model, example) for model in models.get(name, []))
    ]

    assert len(with_examples) > 40
    assert set(with_examples) <= set(models)
    assert invalid == []


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
        # Depth is checked whatever the label, or with none: a label proves nothing.
        (b"[" * 100_000 + b"]" * 100_000, "text/plain", "json_too_deep"),
        (b"[" * 100_000 + b"]" * 100_000, None, "json_too_deep"),
        # json.loads reads UTF-16 (it guesses the encoding from the bytes); pydantic does not.
        (("[" * 100_000 + "]" * 100_000).encode("utf-16-le"), "application/json", "json_too_deep"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_400(
    api: httpx.AsyncClient, content: bytes, content_type: str | None, code: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await api.post("/v1/products", content=content, headers=headers)

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
