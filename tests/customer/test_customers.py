from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models import Customer, Event
from tests.fixtures.api import MakeWorkspace

ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
OTHER_ADDRESS = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
THIRD_ADDRESS = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"


async def _counts(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessionmaker() as session:
        customers = await session.scalar(select(func.count()).select_from(Customer))
        events = await session.scalar(select(func.count()).select_from(Event))
        return int(customers or 0), int(events or 0)


async def test_create_and_retrieve_a_customer_in_stripe_shape(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    created = await api.post(
        "/v1/customers",
        json={"address": ADDRESS, "email": "jenny@example.com", "metadata": {"crm": "4711"}},
    )
    customer = created.json()
    retrieved = await api.get(f"/v1/customers/{customer['id']}")

    assert created.status_code == 200, created.text
    assert customer == {
        "id": customer["id"],
        "object": "customer",
        "address": ADDRESS,
        "created": to_unix(api_clock.now()),
        "email": "jenny@example.com",
        "livemode": False,
        "metadata": {"crm": "4711"},
        "updated": to_unix(api_clock.now()),
    }
    assert customer["id"].startswith("cus_")
    assert retrieved.status_code == 200
    assert retrieved.json() == customer


async def test_an_address_in_lower_case_is_stored_checksummed(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/customers", json={"address": ADDRESS.lower()})

    assert created.status_code == 200, created.text
    assert created.json()["address"] == ADDRESS
    assert created.json()["email"] is None
    assert created.json()["metadata"] == {}


@pytest.mark.parametrize("spelling", [ADDRESS, ADDRESS.lower(), "0x" + ADDRESS[2:].upper()])
async def test_a_second_customer_for_the_same_address_is_409_and_creates_nothing(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], spelling: str
) -> None:
    first = (await api.post("/v1/customers", json={"address": ADDRESS})).json()
    before = await _counts(sessionmaker)

    response = await api.post("/v1/customers", json={"address": spelling, "email": "x@y.io"})

    assert response.status_code == 409
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "customer_exists",
        "message": f"A customer with address {ADDRESS} already exists: {first['id']}",
        "param": "address",
    }
    assert await _counts(sessionmaker) == before
    assert (await api.get(f"/v1/customers/{first['id']}")).json()["email"] is None


async def test_the_same_address_is_a_separate_customer_in_another_workspace(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_workspace: MakeWorkspace
) -> None:
    other = await make_workspace("Other")
    mine = await api.post("/v1/customers", json={"address": ADDRESS})

    theirs = await client.post("/v1/customers", json={"address": ADDRESS}, headers=other.headers)

    assert mine.status_code == 200
    assert theirs.status_code == 200
    assert theirs.json()["id"] != mine.json()["id"]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({}, "parameter_missing", "address"),
        ({"address": "0x1234"}, "parameter_invalid", "address"),
        ({"address": "not an address at all"}, "parameter_invalid", "address"),
        ({"address": ADDRESS[2:]}, "parameter_invalid", "address"),
        ({"address": ADDRESS + "\n"}, "parameter_invalid", "address"),
        ({"address": "0x" + "g" * 40}, "parameter_invalid", "address"),
        # One letter's case flipped: a mistyped checksum.
        ({"address": "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}, "address_invalid", "address"),
        ({"address": "0x" + "0" * 40}, "address_invalid", "address"),
        ({"address": "0x" + "1" * 400}, "parameter_invalid", "address"),
        ({"address": 10**40}, "parameter_invalid", "address"),
        ({"address": int(ADDRESS, 16)}, "parameter_invalid", "address"),
        ({"address": [ADDRESS]}, "parameter_invalid", "address"),
        ({"address": None}, "parameter_invalid", "address"),
        ({"address": ADDRESS, "email": "no-at-sign"}, "parameter_invalid", "email"),
        ({"address": ADDRESS, "email": "a b@example.com"}, "parameter_invalid", "email"),
        ({"address": ADDRESS, "email": "a@" + "x" * 320 + ".com"}, "parameter_invalid", "email"),
        ({"address": ADDRESS, "email": 12345}, "parameter_invalid", "email"),
        ({"address": ADDRESS, "email": "a\x00@example.com"}, "parameter_invalid", "email"),
        ({"address": ADDRESS, "metadata": {"k": 1}}, "parameter_invalid", "metadata.k"),
        ({"address": ADDRESS, "metadata": {"k": 10**30}}, "parameter_invalid", "metadata.k"),
        (
            {"address": ADDRESS, "metadata": {"k" * 41: "v"}},
            "parameter_invalid",
            "metadata." + "k" * 41,
        ),
        (
            {"address": ADDRESS, "metadata": {f"k{i}": "v" for i in range(51)}},
            "parameter_invalid",
            "metadata",
        ),
        ({"address": ADDRESS, "metadata": "crm=1"}, "parameter_invalid", "metadata"),
        ({"address": ADDRESS, "name": "Jenny"}, "parameter_unknown", "name"),
        ({"address": ADDRESS, "livemode": True}, "parameter_unknown", "livemode"),
        ({"address": ADDRESS, "workspace_id": "ws_other"}, "parameter_unknown", "workspace_id"),
    ],
)
async def test_invalid_creations_are_400_and_create_nothing(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    code: str,
    param: str,
) -> None:
    response = await api.post("/v1/customers", json=body)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert error["param"] == param
    assert await _counts(sessionmaker) == (0, 0)


@pytest.mark.parametrize("body", ["[]", '"address"', "12", "null", "{", ""])
async def test_a_body_that_is_not_an_object_is_400(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], body: str
) -> None:
    response = await api.post(
        "/v1/customers", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in {"body_invalid", "json_invalid", "parameter_missing"}
    assert await _counts(sessionmaker) == (0, 0)


async def test_an_unknown_customer_is_404_resource_missing(api: httpx.AsyncClient) -> None:
    for customer_id in ("cus_doesnotexist", "nonsense", "prod_abc", "cus_" + "x" * 70, "cus_a-b"):
        response = await api.get(f"/v1/customers/{customer_id}")
        update = await api.post(f"/v1/customers/{customer_id}", json={"email": "a@b.io"})

        assert response.status_code == 404, customer_id
        assert response.json()["error"]["code"] == "resource_missing"
        assert response.json()["error"]["param"] == "id"
        assert update.status_code == 404, customer_id


async def test_update_changes_only_what_is_given_and_merges_metadata(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    customer = (
        await api.post(
            "/v1/customers",
            json={"address": ADDRESS, "email": "old@example.com", "metadata": {"a": "1", "b": "2"}},
        )
    ).json()
    api_clock.advance(timedelta(minutes=5))

    emailed = await api.post(f"/v1/customers/{customer['id']}", json={"email": "new@example.com"})
    merged = await api.post(
        f"/v1/customers/{customer['id']}", json={"metadata": {"b": "", "c": "3"}}
    )
    cleared = await api.post(f"/v1/customers/{customer['id']}", json={"email": None})
    untouched = await api.post(f"/v1/customers/{customer['id']}")

    assert emailed.status_code == 200, emailed.text
    assert emailed.json() == {
        **customer,
        "email": "new@example.com",
        "updated": customer["created"] + 300,
    }
    assert merged.json()["metadata"] == {"a": "1", "c": "3"}
    assert merged.json()["email"] == "new@example.com"
    assert cleared.json() == {
        **customer,
        "email": None,
        "metadata": {"a": "1", "c": "3"},
        "updated": customer["created"] + 300,
    }
    assert untouched.json() == cleared.json()


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"address": OTHER_ADDRESS}, "parameter_unknown", "address"),
        ({"metadata": None}, "parameter_invalid", "metadata"),
        ({"email": "broken"}, "parameter_invalid", "email"),
        ({"email": 10**40}, "parameter_invalid", "email"),
        ({"metadata": {"x": True}}, "parameter_invalid", "metadata.x"),
        ({"created": 1}, "parameter_unknown", "created"),
    ],
)
async def test_invalid_updates_are_400_and_change_nothing(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    code: str,
    param: str,
) -> None:
    customer = (
        await api.post("/v1/customers", json={"address": ADDRESS, "email": "j@example.com"})
    ).json()
    before = await _counts(sessionmaker)

    response = await api.post(f"/v1/customers/{customer['id']}", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["param"] == param
    assert (await api.get(f"/v1/customers/{customer['id']}")).json() == customer
    assert await _counts(sessionmaker) == before


async def test_metadata_beyond_50_keys_after_a_merge_is_refused(api: httpx.AsyncClient) -> None:
    customer = (
        await api.post(
            "/v1/customers",
            json={"address": ADDRESS, "metadata": {f"k{i}": "v" for i in range(50)}},
        )
    ).json()

    response = await api.post(
        f"/v1/customers/{customer['id']}", json={"metadata": {"one_more": "v"}}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_invalid"
    assert response.json()["error"]["param"] == "metadata"
    assert len((await api.get(f"/v1/customers/{customer['id']}")).json()["metadata"]) == 50


async def test_list_filters_by_address_in_any_case_and_by_email(api: httpx.AsyncClient) -> None:
    jenny = (
        await api.post("/v1/customers", json={"address": ADDRESS, "email": "jenny@example.com"})
    ).json()
    other = (
        await api.post(
            "/v1/customers", json={"address": OTHER_ADDRESS, "email": "other@example.com"}
        )
    ).json()
    await api.post("/v1/customers", json={"address": THIRD_ADDRESS})

    everyone = (await api.get("/v1/customers")).json()
    by_address = (await api.get("/v1/customers", params={"address": ADDRESS.lower()})).json()
    by_email = (await api.get("/v1/customers", params={"email": "other@example.com"})).json()
    wrong_case_email = (
        await api.get("/v1/customers", params={"email": "JENNY@example.com"})
    ).json()

    assert everyone["object"] == "list"
    assert everyone["url"] == "/v1/customers"
    assert len(everyone["data"]) == 3
    assert by_address["data"] == [jenny]
    assert by_email["data"] == [other]
    assert wrong_case_email["data"] == []


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"address": "0x1234"}, "parameter_invalid", "address"),
        ({"address": "x" * 65}, "parameter_invalid", "address"),
        ({"address": "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}, "address_invalid", "address"),
        ({"email": "e" * 321}, "parameter_invalid", "email"),
        ({"limit": "0"}, "parameter_invalid", "limit"),
        ({"limit": "101"}, "parameter_invalid", "limit"),
        ({"limit": str(10**30)}, "parameter_invalid", "limit"),
        ({"name": "Jenny"}, "parameter_unknown", "name"),
    ],
)
async def test_invalid_list_parameters_are_400(
    api: httpx.AsyncClient, params: dict[str, str], code: str, param: str
) -> None:
    response = await api.get("/v1/customers", params=params)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["param"] == param


async def test_pages_through_customers_newest_first(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    ids = []
    for index in range(7):
        api_clock.advance(timedelta(seconds=1))
        address = "0x" + f"{index + 1:040x}"
        ids.append((await api.post("/v1/customers", json={"address": address})).json()["id"])
    newest_first = ids[::-1]

    first = (await api.get("/v1/customers", params={"limit": 3})).json()
    second = (
        await api.get("/v1/customers", params={"limit": 3, "starting_after": newest_first[2]})
    ).json()
    third = (
        await api.get("/v1/customers", params={"limit": 3, "starting_after": newest_first[5]})
    ).json()
    back = (
        await api.get("/v1/customers", params={"limit": 3, "ending_before": newest_first[3]})
    ).json()
    missing_cursor = await api.get("/v1/customers", params={"starting_after": "cus_nope"})

    assert [c["id"] for c in first["data"]] == newest_first[:3]
    assert first["has_more"] is True
    assert [c["id"] for c in second["data"]] == newest_first[3:6]
    assert [c["id"] for c in third["data"]] == newest_first[6:]
    assert third["has_more"] is False
    assert [c["id"] for c in back["data"]] == newest_first[:3]
    assert back["has_more"] is False
    assert missing_cursor.status_code == 404
    assert missing_cursor.json()["error"]["param"] == "starting_after"


async def test_creating_and_updating_record_events(api: httpx.AsyncClient) -> None:
    customer = (
        await api.post("/v1/customers", json={"address": ADDRESS, "metadata": {"a": "1"}})
    ).json()
    await api.post(f"/v1/customers/{customer['id']}", json={"email": "j@example.com"})
    # Setting what is already there is not a change: no event.
    await api.post(
        f"/v1/customers/{customer['id']}", json={"email": "j@example.com", "metadata": {"a": "1"}}
    )

    events = (await api.get("/v1/events")).json()["data"]

    by_type = {e["type"]: e for e in events}
    assert sorted(e["type"] for e in events) == ["customer.created", "customer.updated"]
    assert by_type["customer.created"]["data"] == {
        "object_id": customer["id"],
        "address": ADDRESS,
        "email": None,
        "metadata": {"a": "1"},
    }
    assert by_type["customer.updated"]["data"] == {
        "object_id": customer["id"],
        "address": ADDRESS,
        "email": "j@example.com",
        "metadata": {"a": "1"},
        "previous_attributes": {"email": None},
    }


async def test_a_conflicting_or_invalid_creation_records_no_event(api: httpx.AsyncClient) -> None:
    await api.post("/v1/customers", json={"address": ADDRESS})
    await api.post("/v1/customers", json={"address": ADDRESS})
    await api.post("/v1/customers", json={"address": "0x1234"})

    events = (await api.get("/v1/events")).json()["data"]

    assert [e["type"] for e in events] == ["customer.created"]
