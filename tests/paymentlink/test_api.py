"""``/v1/payment_links`` over the real API: made like a checkout session, listed, read, changed.

No chain is needed: a link stores what its sessions will be made with, and is checked with the
checkout's own rules (`tests/paymentlink/test_pages.py` opens links; the browser test pays one).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import Settings
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models import PaymentLink
from tests.fixtures.api import MakeWorkspace
from tests.fixtures.platform import monthly_price
from tests.paymentlink.links import ready_price


async def _count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(PaymentLink)) or 0)


async def test_a_link_is_made_for_a_price_and_read_back(
    api: httpx.AsyncClient, api_clock: FrozenClock, api_settings: Settings
) -> None:
    price = await ready_price(api)

    made = await api.post(
        "/v1/payment_links",
        json={
            "price": price,
            "quantity": 2,
            "tokens": ["usdc"],
            "success_url": "https://shop.example.com/welcome",
            "metadata": {"campaign": "spring"},
        },
    )

    assert made.status_code == 200, made.text
    link = made.json()
    assert link == {
        "id": link["id"],
        "object": "payment_link",
        "livemode": False,
        "created": to_unix(api_clock.now()),
        "active": True,
        "price": price,
        "quantity": 2,
        "accepted_networks": None,
        "accepted_tokens": ["USDC"],
        "success_url": "https://shop.example.com/welcome",
        "cancel_url": None,
        "url": f"{api_settings.api.public_url}/l/{link['id']}",
        "metadata": {"campaign": "spring"},
    }
    assert link["id"].startswith("plink_")
    assert (await api.get(f"/v1/payment_links/{link['id']}")).json() == link


async def test_links_are_listed_newest_first_by_cursor_and_filtered_by_active(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    price = await ready_price(api)
    ids = []
    for _ in range(3):
        ids.append((await api.post("/v1/payment_links", json={"price": price})).json()["id"])
        api_clock.advance(timedelta(seconds=1))
    await api.post(f"/v1/payment_links/{ids[0]}", json={"active": False})

    first = (await api.get("/v1/payment_links", params={"limit": 2})).json()
    rest = (
        await api.get("/v1/payment_links", params={"limit": 2, "starting_after": ids[1]})
    ).json()
    back = (await api.get("/v1/payment_links", params={"ending_before": ids[0]})).json()
    active = (await api.get("/v1/payment_links", params={"active": "true"})).json()

    assert [link["id"] for link in first["data"]] == [ids[2], ids[1]]
    assert first["has_more"] is True
    assert first["url"] == "/v1/payment_links"
    assert [link["id"] for link in rest["data"]] == [ids[0]]
    assert rest["has_more"] is False
    assert [link["id"] for link in back["data"]] == [ids[2], ids[1]]
    assert [link["id"] for link in active["data"]] == [ids[2], ids[1]]


async def test_a_link_is_updated_and_deactivated_but_its_price_stays(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    price = await ready_price(api)
    link = (
        await api.post("/v1/payment_links", json={"price": price, "metadata": {"a": "1"}})
    ).json()

    api_clock.advance(timedelta(seconds=5))
    changed = await api.post(
        f"/v1/payment_links/{link['id']}",
        json={
            "active": False,
            "cancel_url": "https://shop.example.com/pricing",
            "metadata": {"a": "", "b": "2"},
        },
    )
    refused = await api.post(f"/v1/payment_links/{link['id']}", json={"price": price})
    nulled = await api.post(f"/v1/payment_links/{link['id']}", json={"active": None})

    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        **link,
        "active": False,
        "cancel_url": "https://shop.example.com/pricing",
        "metadata": {"b": "2"},
    }
    assert refused.status_code == 400
    assert nulled.status_code == 400
    assert (await api.get(f"/v1/payment_links/{link['id']}")).json() == changed.json()
    reactivated = await api.post(f"/v1/payment_links/{link['id']}", json={"active": True})
    assert reactivated.json()["active"] is True


async def _archived_price(api: httpx.AsyncClient) -> str:
    price = await monthly_price(api)
    assert (await api.post(f"/v1/prices/{price}", json={"active": False})).status_code == 200
    return price


async def _one_time_price(api: httpx.AsyncClient) -> str:
    product = (await api.post("/v1/products", json={"name": "Sticker"})).json()
    price = await api.post(
        "/v1/prices", json={"product": product["id"], "unit_amount": 500, "currency": "usd"}
    )
    assert price.status_code == 200, price.text
    return str(price.json()["id"])


@pytest.mark.parametrize(
    ("case", "status", "code", "param"),
    [
        ("unknown price", 404, "resource_missing", "price"),
        ("archived price", 400, "price_not_usable", "price"),
        ("one-time price", 400, "price_not_usable", "price"),
        ("live network", 400, "network_unsupported", "networks"),
        ("unknown network", 400, "network_unsupported", "networks"),
        ("network without payout", 400, "payout_address_missing", "networks"),
        ("unknown token", 400, "token_unsupported", "tokens"),
        ("quantity 0", 400, "parameter_invalid", "quantity"),
        ("NUL in price", 400, "parameter_invalid", "price"),
        ("bad success_url", 400, "parameter_invalid", "success_url"),
        ("amount in body", 400, "parameter_unknown", "amount"),
    ],
)
async def test_a_link_checkout_would_refuse_is_refused_with_its_code_and_nothing_made(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    case: str,
    status: int,
    code: str,
    param: str,
) -> None:
    price = await ready_price(api)
    body: dict[str, Any] = {
        "unknown price": {"price": "price_missing"},
        "archived price": {"price": await _archived_price(api)},
        "one-time price": {"price": await _one_time_price(api)},
        "live network": {"price": price, "networks": ["base"]},
        "unknown network": {"price": price, "networks": ["nowhere"]},
        "network without payout": {"price": price, "networks": ["sepolia"]},
        "unknown token": {"price": price, "tokens": ["DOGE"]},
        "quantity 0": {"price": price, "quantity": 0},
        "NUL in price": {"price": "price_\x00"},
        "bad success_url": {"price": price, "success_url": "javascript:alert(1)"},
        "amount in body": {"price": price, "amount": 1},
    }[case]

    response = await api.post("/v1/payment_links", json=body)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"].split(".")[0]) == (code, param)
    assert await _count(sessionmaker) == 0


async def test_another_workspace_or_mode_finds_no_link_and_changes_nothing(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_workspace: MakeWorkspace
) -> None:
    price = await ready_price(api)
    link = (await api.post("/v1/payment_links", json={"price": price})).json()
    intruder = {"Authorization": f"Bearer {(await make_workspace('Intruder')).secret_key}"}

    calls = [
        ("GET", f"/v1/payment_links/{link['id']}", None),
        ("POST", f"/v1/payment_links/{link['id']}", {"active": False}),
        ("GET", f"/v1/payment_links/{link['id']}/qr.svg", None),
        ("POST", "/v1/payment_links", {"price": price}),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=intruder)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "resource_missing"
    listed = (await client.get("/v1/payment_links", headers=intruder)).json()

    assert listed["data"] == []
    assert (await api.get(f"/v1/payment_links/{link['id']}")).json() == link
