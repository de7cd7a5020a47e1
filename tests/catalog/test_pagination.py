from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cyphera.kit.clock import FrozenClock
from tests.fixtures.api import MakeWorkspace


async def _create_products(api: httpx.AsyncClient, clock: FrozenClock, count: int) -> list[str]:
    """The ids of `count` new products in list order (newest first).

    Every third product shares its creation second with the previous one: the order between
    those is the id's, which is what makes the order total.
    """
    created = []
    for index in range(count):
        if index % 3:
            clock.advance(timedelta(seconds=1))
        product = (await api.post("/v1/products", json={"name": f"P{index}"})).json()
        created.append((product["created"], product["id"]))
    return [object_id for _, object_id in sorted(created, reverse=True)]


async def test_paging_forward_and_back_sees_every_object_once_newest_first(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    newest_first = await _create_products(api, api_clock, 25)

    forward: list[list[str]] = []
    has_more: list[bool] = []
    params: dict[str, str | int] = {"limit": 10}
    while True:
        page = (await api.get("/v1/products", params=params)).json()
        forward.append([p["id"] for p in page["data"]])
        has_more.append(page["has_more"])
        if not page["has_more"]:
            break
        params = {"limit": 10, "starting_after": forward[-1][-1]}

    backward: list[list[str]] = []
    params = {"limit": 10, "ending_before": forward[-1][0]}
    while True:
        page = (await api.get("/v1/products", params=params)).json()
        backward.insert(0, [p["id"] for p in page["data"]])
        if not page["has_more"]:
            break
        params = {"limit": 10, "ending_before": backward[0][0]}

    assert [len(p) for p in forward] == [10, 10, 5]
    assert has_more == [True, True, False]
    assert [i for p in forward for i in p] == newest_first
    assert [i for p in backward for i in p] + forward[-1] == newest_first
    assert [len(p) for p in backward] == [10, 10]


async def test_default_and_maximum_page_sizes(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    await _create_products(api, api_clock, 12)

    default = (await api.get("/v1/products")).json()
    everything = (await api.get("/v1/products", params={"limit": 100})).json()

    assert len(default["data"]) == 10
    assert default["has_more"] is True
    assert len(everything["data"]) == 12
    assert everything["has_more"] is False


async def test_a_cursor_that_left_the_filter_still_pages(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    newest_first = await _create_products(api, api_clock, 5)
    first_page = (await api.get("/v1/products", params={"limit": 2, "active": "true"})).json()
    cursor = first_page["data"][-1]["id"]
    await api.post(f"/v1/products/{cursor}", json={"active": False})

    next_page = (
        await api.get(
            "/v1/products", params={"limit": 2, "active": "true", "starting_after": cursor}
        )
    ).json()

    assert [p["id"] for p in next_page["data"]] == newest_first[2:4]


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"limit": 0}, "parameter_invalid", "limit"),
        ({"limit": 101}, "parameter_invalid", "limit"),
        ({"limit": "ten"}, "parameter_invalid", "limit"),
        ({"limit": str(10**30)}, "parameter_invalid", "limit"),
        (
            {"starting_after": "prod_x", "ending_before": "prod_y"},
            "parameter_invalid",
            "ending_before",
        ),
        ({"starting_after": "prod_doesnotexist"}, "resource_missing", "starting_after"),
        ({"ending_before": "not an id"}, "resource_missing", "ending_before"),
        ({"starting_after": "x" * 101}, "parameter_invalid", "starting_after"),
        ({"sort": "name"}, "parameter_unknown", "sort"),
    ],
)
async def test_bad_list_parameters_are_refused(
    api: httpx.AsyncClient, params: dict[str, str | int], code: str, param: str
) -> None:
    response = await api.get("/v1/products", params=params)

    assert 400 <= response.status_code < 500
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (code, param)


async def test_another_workspaces_object_is_no_cursor(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_workspace: MakeWorkspace
) -> None:
    other = await make_workspace("Other")
    foreign = (
        await client.post("/v1/products", json={"name": "Theirs"}, headers=other.headers)
    ).json()

    response = await api.get("/v1/products", params={"starting_after": foreign["id"]})

    assert response.status_code == 404
    assert response.json()["error"]["param"] == "starting_after"
