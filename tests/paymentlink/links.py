"""What the payment link tests share: a price a link can sell, on a test network."""

from __future__ import annotations

import httpx

from tests.fixtures.platform import monthly_price

NETWORK = "base-sepolia"
PAYOUT = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


async def ready_price(api: httpx.AsyncClient) -> str:
    """A monthly price, and a payout address on a test network so there is somewhere to pay."""
    paid = await api.post(f"/v1/payout_addresses/{NETWORK}", json={"address": PAYOUT})
    assert paid.status_code == 200, paid.text
    return await monthly_price(api)
