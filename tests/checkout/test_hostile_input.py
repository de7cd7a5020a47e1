"""Hostile values in checkout requests are refused at the edge with a 400 and change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.models import CheckoutSession


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "price_\x00"),
        ("test_clock", "clock_\x00"),
        ("coupon", "SAVE\x0010"),
        ("success_url", "https://shop.example/\x00welcome"),
        ("cancel_url", "https://shop.example/ pricing"),
        ("network", "local\x00"),
        ("networks", ["local\x00"]),
        ("tokens", ["USDC\x00"]),
    ],
)
async def test_a_nul_or_malformed_string_in_a_checkout_is_a_400(
    api: httpx.AsyncClient,
    field: str,
    value: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    body: dict[str, Any] = {"price": "price_123", field: value}

    response = await api.post("/v1/checkout/sessions", json=body)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"].split(".")[0] == field
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(CheckoutSession)) == 0


@pytest.mark.parametrize(
    "grant",
    [
        {"context": "0x00", "delegationManager": "0x" + "11" * 20, "dependencies": 5},
        {"context": "0x00", "delegationManager": "0x" + "11" * 20, "dependencies": [5]},
        {"context": "0x00", "delegationManager": "0x" + "11" * 20, "dependencies": [{}]},
        {"context": 7, "delegationManager": "0x" + "11" * 20},
        {"context": "0xzz", "delegationManager": "0x" + "11" * 20},
        {"context": "0x00", "delegationManager": "not an address"},
        {"context": "0x00", "delegationManager": "0x" + "11" * 20, "chainId": "0x\x00"},
        {"delegationManager": "0x" + "11" * 20},
    ],
)
async def test_a_grant_of_the_wrong_shape_is_a_400_before_any_lookup(
    api: httpx.AsyncClient, grant: dict[str, Any]
) -> None:
    # The session does not even exist: the body is refused before anything is read.
    response = await api.post("/v1/checkout/sessions/cs_missing/complete", json={"grant": grant})

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"].startswith("grant")
