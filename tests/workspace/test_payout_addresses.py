from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.mixins import Mode
from tests.fixtures.api import MakeApiKey, WorkspaceKeys

CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
OTHER = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


async def test_set_get_list_and_replace_payout_addresses(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    created = await api.post(
        "/v1/payout_addresses/base-sepolia", json={"address": CHECKSUMMED.lower()}
    )
    api_clock.advance(timedelta(minutes=1))
    replaced = await api.post("/v1/payout_addresses/base-sepolia", json={"address": OTHER})
    await api.post("/v1/payout_addresses/local", json={"address": CHECKSUMMED})

    retrieved = await api.get("/v1/payout_addresses/base-sepolia")
    listed = (await api.get("/v1/payout_addresses")).json()

    assert created.status_code == 200
    assert created.json() == {
        "id": created.json()["id"],
        "object": "payout_address",
        "address": CHECKSUMMED,
        "created": to_unix(api_clock.now()) - 60,
        "livemode": False,
        "network": "base-sepolia",
        "updated": to_unix(api_clock.now()) - 60,
    }
    assert replaced.json() == {
        **created.json(),
        "address": OTHER,
        "updated": to_unix(api_clock.now()),
    }
    assert retrieved.json() == replaced.json()
    assert listed["object"] == "list"
    assert [(p["network"], p["address"]) for p in listed["data"]] == [
        ("base-sepolia", OTHER),
        ("local", CHECKSUMMED),
    ]


@pytest.mark.parametrize(
    ("network", "address", "code"),
    [
        ("base-sepolia", CHECKSUMMED.replace("a", "A", 1), "address_invalid"),  # checksum broken
        ("base-sepolia", "0x1234", "address_invalid"),
        ("base-sepolia", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "address_invalid"),
        ("base-sepolia", "0x" + "g" * 40, "address_invalid"),
        ("base-sepolia", "0x" + "0" * 40, "address_invalid"),
        ("solana", CHECKSUMMED, "network_unsupported"),
        # A test key names a mainnet: test mode never points real money anywhere.
        ("base", CHECKSUMMED, "network_mode_mismatch"),
        ("ethereum", CHECKSUMMED, "network_mode_mismatch"),
    ],
)
async def test_invalid_payout_addresses_are_refused(
    api: httpx.AsyncClient, network: str, address: str, code: str
) -> None:
    response = await api.post(f"/v1/payout_addresses/{network}", json={"address": address})
    listed = (await api.get("/v1/payout_addresses")).json()

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert listed["data"] == []


async def test_an_unset_network_is_404(api: httpx.AsyncClient) -> None:
    for network in ("base", "solana"):
        response = await api.get(f"/v1/payout_addresses/{network}")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
        assert response.json()["error"]["param"] == "network"


async def test_payout_addresses_are_per_mode(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
) -> None:
    live_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)
    await client.post(
        "/v1/payout_addresses/base",
        json={"address": CHECKSUMMED},
        headers={"Authorization": f"Bearer {live_key}"},
    )

    test = await api.get("/v1/payout_addresses/base")

    assert test.status_code == 404


async def test_a_live_key_cannot_set_a_testnet_payout_address(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
) -> None:
    live = {"Authorization": f"Bearer {await make_api_key(workspace.workspace_id, mode=Mode.LIVE)}"}

    refused = [
        await client.post(
            f"/v1/payout_addresses/{network}", json={"address": CHECKSUMMED}, headers=live
        )
        for network in ("base-sepolia", "local")
    ]
    listed = (await client.get("/v1/payout_addresses", headers=live)).json()

    assert [r.status_code for r in refused] == [400, 400]
    assert {r.json()["error"]["code"] for r in refused} == {"network_mode_mismatch"}
    assert refused[0].json()["error"]["param"] == "network"
    assert listed["data"] == []
