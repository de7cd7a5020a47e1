from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.kit.money import MAX_UNIT_AMOUNT
from cyphera.models.price import Price
from tests.fixtures.api import MakeWorkspace


async def _price_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Price)) or 0)


@pytest.fixture
async def product(api: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await api.post("/v1/products", json={"name": "Pro"})).json())


async def test_create_a_recurring_price_in_stripe_shape(
    api: httpx.AsyncClient, product: dict[str, Any], api_clock: FrozenClock
) -> None:
    created = await api.post(
        "/v1/prices",
        json={
            "product": product["id"],
            "unit_amount": 1999,
            "currency": "usd",
            "recurring": {"interval": "month", "interval_count": 3, "trial_period_days": 14},
            "metadata": {"tier": "gold"},
        },
    )
    price = created.json()
    retrieved = await api.get(f"/v1/prices/{price['id']}")

    assert created.status_code == 200
    assert price == {
        "id": price["id"],
        "object": "price",
        "active": True,
        "created": to_unix(api_clock.now()),
        "currency": "usd",
        "livemode": False,
        "metadata": {"tier": "gold"},
        "product": product["id"],
        "recurring": {"interval": "month", "interval_count": 3, "trial_period_days": 14},
        "type": "recurring",
        "unit_amount": 1999,
    }
    assert price["id"].startswith("price_")
    assert retrieved.json() == price


async def test_create_a_one_time_price(api: httpx.AsyncClient, product: dict[str, Any]) -> None:
    price = (
        await api.post(
            "/v1/prices",
            json={
                "product": product["id"],
                "unit_amount": 0,
                "currency": "USD",
                "type": "one_time",
            },
        )
    ).json()

    assert price["type"] == "one_time"
    assert price["recurring"] is None
    assert price["unit_amount"] == 0
    assert price["currency"] == "usd"


async def test_the_largest_amount_and_period_are_accepted(
    api: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    for interval, count in (("day", 365), ("week", 52), ("month", 12), ("year", 1)):
        response = await api.post(
            "/v1/prices",
            json={
                "product": product["id"],
                "unit_amount": MAX_UNIT_AMOUNT,
                "currency": "usd",
                "recurring": {"interval": interval, "interval_count": count},
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["recurring"]["interval_count"] == count


def _price(product_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "product": product_id,
        "unit_amount": 1999,
        "currency": "usd",
        "recurring": {"interval": "month"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize(
    ("changes", "code", "param"),
    [
        ({"unit_amount": -1}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": 10.5}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": 10.0}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": 10**30}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": MAX_UNIT_AMOUNT + 1}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": "1999"}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": True}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": None}, "parameter_invalid", "unit_amount"),
        ({"unit_amount": _DROP}, "parameter_missing", "unit_amount"),
        ({"currency": "eur"}, "currency_unsupported", "currency"),
        ({"currency": "dollars"}, "currency_unsupported", "currency"),
        ({"currency": 840}, "parameter_invalid", "currency"),
        ({"recurring": {"interval": "hour"}}, "parameter_invalid", "recurring.interval"),
        (
            {"recurring": {"interval": "month", "interval_count": 0}},
            "parameter_invalid",
            "recurring.interval_count",
        ),
        (
            {"recurring": {"interval": "month", "interval_count": 13}},
            "parameter_invalid",
            "recurring.interval_count",
        ),
        (
            {"recurring": {"interval": "week", "interval_count": 53}},
            "parameter_invalid",
            "recurring.interval_count",
        ),
        (
            {"recurring": {"interval": "year", "interval_count": 2}},
            "parameter_invalid",
            "recurring.interval_count",
        ),
        (
            {"recurring": {"interval": "month", "interval_count": 1.5}},
            "parameter_invalid",
            "recurring.interval_count",
        ),
        (
            {"recurring": {"interval": "month", "trial_period_days": 731}},
            "parameter_invalid",
            "recurring.trial_period_days",
        ),
        ({"recurring": {"interval": "month", "every": 2}}, "parameter_unknown", "recurring.every"),
        ({"recurring": _DROP, "type": "recurring"}, "parameter_missing", "recurring"),
        ({"type": "one_time"}, "parameter_invalid", "recurring"),
        ({"type": "metered"}, "parameter_invalid", "type"),
        ({"nickname": "x"}, "parameter_unknown", "nickname"),
        ({"product": None}, "parameter_invalid", "product"),
        ({"product": _DROP}, "parameter_missing", "product"),
        ({"product": "prod_doesnotexist"}, "resource_missing", "product"),
        ({"metadata": {"k": None}}, "parameter_invalid", "metadata.k"),
    ],
)
async def test_bad_prices_are_refused_and_nothing_is_created(
    api: httpx.AsyncClient,
    product: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    changes: dict[str, Any],
    code: str,
    param: str,
) -> None:
    response = await api.post("/v1/prices", json=_price(product["id"], **changes))

    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert error["type"] == "invalid_request_error"
    assert isinstance(error["message"], str)
    assert error["message"]
    assert await _price_count(sessionmaker) == 0


async def test_a_price_needs_an_active_product_of_the_callers_workspace(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    product: dict[str, Any],
    make_workspace: MakeWorkspace,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    other = await make_workspace("Other")
    foreign = await client.post("/v1/prices", json=_price(product["id"]), headers=other.headers)
    await api.post(f"/v1/products/{product['id']}", json={"active": False})
    archived = await api.post("/v1/prices", json=_price(product["id"]))

    assert foreign.status_code == 404
    assert foreign.json()["error"]["param"] == "product"
    assert archived.status_code == 400
    assert archived.json()["error"]["code"] == "product_inactive"
    assert await _price_count(sessionmaker) == 0


async def test_prices_are_immutable_but_for_active_and_metadata(
    api: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    price = (await api.post("/v1/prices", json=_price(product["id"], metadata={"a": "1"}))).json()

    changed = await api.post(
        f"/v1/prices/{price['id']}", json={"active": False, "metadata": {"b": "2"}}
    )
    refused = [
        await api.post(f"/v1/prices/{price['id']}", json=change)
        for change in (
            {"unit_amount": 1},
            {"currency": "usd"},
            {"recurring": {"interval": "year"}},
            {"product": product["id"]},
        )
    ]

    assert changed.json() == {**price, "active": False, "metadata": {"a": "1", "b": "2"}}
    for response in refused:
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parameter_unknown"
    assert (await api.get(f"/v1/prices/{price['id']}")).json() == changed.json()


async def test_list_prices_filters(api: httpx.AsyncClient) -> None:
    first = (await api.post("/v1/products", json={"name": "A"})).json()
    second = (await api.post("/v1/products", json={"name": "B"})).json()
    monthly = (await api.post("/v1/prices", json=_price(first["id"]))).json()
    once = (
        await api.post("/v1/prices", json=_price(first["id"], recurring=_DROP, type="one_time"))
    ).json()
    inactive = (await api.post("/v1/prices", json=_price(second["id"], active=False))).json()

    async def ids(**params: str) -> set[str]:
        response = await api.get("/v1/prices", params=params)
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["data"]}

    assert await ids() == {monthly["id"], once["id"], inactive["id"]}
    assert await ids(product=first["id"]) == {monthly["id"], once["id"]}
    assert await ids(active="false") == {inactive["id"]}
    assert await ids(type="one_time") == {once["id"]}
    assert await ids(product=first["id"], type="recurring") == {monthly["id"]}
    assert await ids(product="prod_unknown") == set()
