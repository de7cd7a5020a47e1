from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.product import Product
from tests.fixtures.api import WorkspaceKeys


async def _count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Product)) or 0)


async def test_create_and_retrieve_a_product_in_stripe_shape(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    created = await api.post(
        "/v1/products",
        json={"name": "Pro plan", "description": "Monthly", "metadata": {"plan": "pro"}},
    )
    product = created.json()
    retrieved = await api.get(f"/v1/products/{product['id']}")

    assert created.status_code == 200
    assert product == {
        "id": product["id"],
        "object": "product",
        "active": True,
        "created": to_unix(api_clock.now()),
        "description": "Monthly",
        "livemode": False,
        "metadata": {"plan": "pro"},
        "name": "Pro plan",
        "updated": to_unix(api_clock.now()),
    }
    assert product["id"].startswith("prod_")
    assert retrieved.status_code == 200
    assert retrieved.json() == product


async def test_an_unknown_product_is_404_resource_missing(api: httpx.AsyncClient) -> None:
    for product_id in ("prod_doesnotexist", "nonsense", "prod_%E2%9C%93"):
        response = await api.get(f"/v1/products/{product_id}")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
        assert response.json()["error"]["param"] == "id"


async def test_a_nul_byte_in_the_url_is_400_and_never_reaches_the_database(
    api: httpx.AsyncClient,
) -> None:
    for url in ("/v1/products/prod_%00x", "/v1/products?starting_after=prod_%00"):
        response = await api.get(url)

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parameter_invalid"


async def test_update_changes_only_what_is_given_and_merges_metadata(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    product = (
        await api.post(
            "/v1/products",
            json={"name": "Pro", "description": "Old", "metadata": {"a": "1", "b": "2"}},
        )
    ).json()
    api_clock.advance(timedelta(minutes=5))

    renamed = await api.post(f"/v1/products/{product['id']}", json={"name": "Pro 2"})
    merged = await api.post(
        f"/v1/products/{product['id']}",
        json={"metadata": {"b": "", "c": "3"}, "active": False, "description": None},
    )
    untouched = await api.post(f"/v1/products/{product['id']}")

    assert renamed.json()["name"] == "Pro 2"
    assert renamed.json()["description"] == "Old"
    assert renamed.json()["updated"] == product["created"] + 300
    assert merged.json() == {
        **product,
        "name": "Pro 2",
        "description": None,
        "active": False,
        "metadata": {"a": "1", "c": "3"},
        "updated": product["created"] + 300,
    }
    assert untouched.json() == merged.json()


async def test_update_refuses_null_for_a_required_field(api: httpx.AsyncClient) -> None:
    product = (await api.post("/v1/products", json={"name": "Pro"})).json()

    response = await api.post(f"/v1/products/{product['id']}", json={"name": None})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_invalid"
    assert response.json()["error"]["param"] == "name"
    assert (await api.get(f"/v1/products/{product['id']}")).json()["name"] == "Pro"


async def test_list_filters_by_active(api: httpx.AsyncClient) -> None:
    active = (await api.post("/v1/products", json={"name": "On"})).json()
    archived = (await api.post("/v1/products", json={"name": "Off", "active": False})).json()

    only_active = (await api.get("/v1/products", params={"active": "true"})).json()
    only_archived = (await api.get("/v1/products", params={"active": "false"})).json()

    assert [p["id"] for p in only_active["data"]] == [active["id"]]
    assert [p["id"] for p in only_archived["data"]] == [archived["id"]]
    assert only_active["object"] == "list"
    assert only_active["url"] == "/v1/products"
    assert only_active["has_more"] is False


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({}, "parameter_missing", "name"),
        ({"name": ""}, "parameter_invalid", "name"),
        ({"name": "   "}, "parameter_invalid", "name"),
        ({"name": 42}, "parameter_invalid", "name"),
        ({"name": "x" * 251}, "parameter_invalid", "name"),
        ({"name": "nul\u0000byte"}, "parameter_invalid", "name"),
        ({"name": "lone \ud800 surrogate"}, "parameter_invalid", "name"),
        ({"name": "Pro", "active": "yes"}, "parameter_invalid", "active"),
        ({"name": "Pro", "colour": "red"}, "parameter_unknown", "colour"),
        ({"name": "Pro", "metadata": {"k": 1}}, "parameter_invalid", "metadata.k"),
        ({"name": "Pro", "metadata": {"k" * 41: "v"}}, "parameter_invalid", "metadata." + "k" * 41),
        ({"name": "Pro", "metadata": {"k": "v" * 501}}, "parameter_invalid", "metadata.k"),
        (
            {"name": "Pro", "metadata": {f"k{i}": "v" for i in range(51)}},
            "parameter_invalid",
            "metadata",
        ),
        ({"name": "Pro", "metadata": ["a"]}, "parameter_invalid", "metadata"),
    ],
)
async def test_invalid_products_are_refused(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, object],
    code: str,
    param: str,
) -> None:
    # Encoded here, ASCII-escaped, so that a lone surrogate can travel as JSON's "\ud800".
    response = await api.post(
        "/v1/products",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"]) == (code, param)
    assert await _count(sessionmaker) == 0


async def test_metadata_merge_beyond_50_keys_is_refused(
    api: httpx.AsyncClient, workspace: WorkspaceKeys
) -> None:
    product = (
        await api.post(
            "/v1/products", json={"name": "Pro", "metadata": {f"k{i}": "v" for i in range(50)}}
        )
    ).json()

    response = await api.post(f"/v1/products/{product['id']}", json={"metadata": {"one": "more"}})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "metadata"
    assert len((await api.get(f"/v1/products/{product['id']}")).json()["metadata"]) == 50
