"""``/v1/coupons`` over HTTP: creation rules (each refusal a stable code, nothing created), reads,
update of name and metadata only, and deletion (valid=false, the coupon still readable)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cyphera.kit.clock import FrozenClock, to_unix


def error(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["param"]


async def test_a_percent_coupon_is_created_in_basis_points_and_read_back(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/coupons",
        json={
            "name": "Launch",
            "percent_off": 12.5,
            "duration": "repeating",
            "duration_in_months": 3,
            "max_redemptions": 10,
            "metadata": {"campaign": "launch"},
        },
    )

    assert response.status_code == 200, response.text
    coupon = response.json()
    assert coupon["id"].startswith("coupon_")
    assert {k: coupon[k] for k in coupon if k not in ("id", "created")} == {
        "object": "coupon",
        "livemode": False,
        "name": "Launch",
        "percent_off": 12.5,
        "amount_off": None,
        "currency": None,
        "duration": "repeating",
        "duration_in_months": 3,
        "max_redemptions": 10,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
        "metadata": {"campaign": "launch"},
    }
    assert (await api.get(f"/v1/coupons/{coupon['id']}")).json() == coupon
    listed = (await api.get("/v1/coupons")).json()
    assert [c["id"] for c in listed["data"]] == [coupon["id"]]
    assert listed["url"] == "/v1/coupons"


async def test_an_amount_coupon_needs_a_supported_currency(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/coupons",
        json={"amount_off": 500, "currency": "USD", "duration": "once", "redeem_by": 4102444800},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["amount_off"], body["currency"], body["percent_off"]) == (500, "usd", None)
    assert body["redeem_by"] == 4102444800


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"duration": "once"}, ("coupon_amount_invalid", "percent_off")),
        (
            {"percent_off": 10, "amount_off": 100, "currency": "usd", "duration": "once"},
            ("coupon_amount_invalid", "percent_off"),
        ),
        ({"percent_off": 0, "duration": "once"}, ("parameter_invalid", "percent_off")),
        ({"percent_off": 100.01, "duration": "once"}, ("parameter_invalid", "percent_off")),
        ({"percent_off": -5, "duration": "once"}, ("parameter_invalid", "percent_off")),
        ({"percent_off": 10.125, "duration": "once"}, ("parameter_invalid", "percent_off")),
        (
            {"amount_off": 0, "currency": "usd", "duration": "once"},
            ("parameter_invalid", "amount_off"),
        ),
        ({"amount_off": 100, "duration": "once"}, ("parameter_missing", "currency")),
        (
            {"amount_off": 100, "currency": "eur", "duration": "once"},
            ("currency_unsupported", "currency"),
        ),
        (
            {"percent_off": 10, "currency": "usd", "duration": "once"},
            ("parameter_invalid", "currency"),
        ),
        (
            {"percent_off": 10, "duration": "repeating"},
            ("coupon_duration_invalid", "duration_in_months"),
        ),
        (
            {"percent_off": 10, "duration": "forever", "duration_in_months": 3},
            ("coupon_duration_invalid", "duration_in_months"),
        ),
        (
            {"percent_off": 10, "duration": "repeating", "duration_in_months": 0},
            ("coupon_duration_invalid", "duration_in_months"),
        ),
        (
            {"percent_off": 10, "duration": "repeating", "duration_in_months": 121},
            ("coupon_duration_invalid", "duration_in_months"),
        ),
        ({"percent_off": 10, "duration": "sometimes"}, ("parameter_invalid", "duration")),
        ({"percent_off": "10", "duration": "once"}, ("parameter_invalid", "percent_off")),
        (
            {"percent_off": 10, "duration": "once", "redeem_by": 0},
            ("parameter_invalid", "redeem_by"),
        ),
        (
            {"percent_off": 10, "duration": "once", "max_redemptions": 0},
            ("parameter_invalid", "max_redemptions"),
        ),
    ],
)
async def test_an_invalid_coupon_is_refused_and_nothing_is_created(
    api: httpx.AsyncClient, body: dict[str, Any], expected: tuple[str, str]
) -> None:
    response = await api.post("/v1/coupons", json=body)

    assert error(response) == (400, *expected)
    assert (await api.get("/v1/coupons")).json()["data"] == []


async def test_only_name_and_metadata_change(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    coupon = (
        await api.post(
            "/v1/coupons", json={"percent_off": 20, "duration": "once", "metadata": {"a": "1"}}
        )
    ).json()
    path = f"/v1/coupons/{coupon['id']}"

    updated = await api.post(path, json={"name": "Twenty", "metadata": {"a": "", "b": "2"}})
    refused = await api.post(path, json={"percent_off": 50})

    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["metadata"]) == ("Twenty", {"b": "2"})
    assert error(refused) == (400, "parameter_unknown", "percent_off")
    assert (await api.get(path)).json()["percent_off"] == 20.0


async def test_a_deleted_coupon_is_invalid_but_still_readable(api: httpx.AsyncClient) -> None:
    coupon = (await api.post("/v1/coupons", json={"percent_off": 20, "duration": "forever"})).json()
    path = f"/v1/coupons/{coupon['id']}"

    deleted = await api.delete(path)

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": coupon["id"], "object": "coupon", "deleted": True}
    assert (await api.get(path)).json()["valid"] is False
    assert (await api.delete(path)).status_code == 200  # idempotent
    assert error(await api.get("/v1/coupons/coupon_missing")) == (404, "resource_missing", "id")


async def test_redeem_by_in_the_past_of_the_clock_is_refused(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    response = await api.post(
        "/v1/coupons",
        json={"percent_off": 5, "duration": "once", "redeem_by": to_unix(api_clock.now())},
    )

    assert error(response) == (400, "parameter_invalid", "redeem_by")
