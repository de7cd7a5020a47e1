from __future__ import annotations

import httpx
import pytest

from cyphera.chain.networks import NetworkRegistry
from cyphera.config import Settings
from cyphera.models.mixins import Mode
from cyphera.runtime import network_registry
from tests.fixtures.api import MakeApiKey, WorkspaceKeys


@pytest.fixture
def registry(api_settings: Settings) -> NetworkRegistry:
    """The registry the server under test built (public networks; local if deployed)."""
    return network_registry(api_settings)


@pytest.fixture
async def live_headers(workspace: WorkspaceKeys, make_api_key: MakeApiKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_api_key(workspace.workspace_id, mode=Mode.LIVE)}"}


async def test_base_sepolia_in_full(api: httpx.AsyncClient, registry: NetworkRegistry) -> None:
    response = await api.get("/v1/networks/base-sepolia")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": "base-sepolia",
        "object": "network",
        "block_time_seconds": 2.0,
        "chain_id": 84532,
        "confirmations": 2,
        "delegation_manager": registry.get("base-sepolia").framework.delegation_manager,
        "explorer_url": "https://sepolia.basescan.org",
        "is_testnet": True,
        "key": "base-sepolia",
        "name": "Base Sepolia",
        "native_symbol": "ETH",
        "tokens": [
            {
                "object": "token",
                "address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                "chain_id": 84532,
                "decimals": 6,
                "network": "base-sepolia",
                "symbol": "USDC",
            }
        ],
    }


async def test_a_test_key_lists_the_testnets_and_a_live_key_the_mainnets(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    live_headers: dict[str, str],
    registry: NetworkRegistry,
) -> None:
    test_list = (await api.get("/v1/networks")).json()
    live_list = (await client.get("/v1/networks", headers=live_headers)).json()

    assert test_list["object"] == "list"
    assert test_list["url"] == "/v1/networks"
    assert test_list["has_more"] is False
    assert [n["key"] for n in test_list["data"]] == [n.key for n in registry if n.is_testnet]
    assert {"sepolia", "base-sepolia", "arbitrum-sepolia", "polygon-amoy"} <= {
        n["key"] for n in test_list["data"]
    }
    assert all(n["is_testnet"] for n in test_list["data"])
    assert [n["key"] for n in live_list["data"]] == [
        "ethereum",
        "polygon",
        "arbitrum",
        "base",
        "optimism",
    ]
    assert not any(n["is_testnet"] for n in live_list["data"])
    ethereum = live_list["data"][0]
    assert ethereum["chain_id"] == 1
    assert [t["symbol"] for t in ethereum["tokens"]] == ["USDC", "USDT"]
    assert ethereum["delegation_manager"] == registry.get("ethereum").framework.delegation_manager


async def test_a_network_of_the_other_mode_or_unknown_is_404(
    api: httpx.AsyncClient, client: httpx.AsyncClient, live_headers: dict[str, str]
) -> None:
    mainnet_with_test_key = await api.get("/v1/networks/base")
    testnet_with_live_key = await client.get("/v1/networks/base-sepolia", headers=live_headers)
    mainnet_with_live_key = await client.get("/v1/networks/base", headers=live_headers)
    unknown = await api.get("/v1/networks/dogechain")
    too_long = await api.get("/v1/networks/" + "x" * 41)

    assert mainnet_with_test_key.status_code == 404
    assert mainnet_with_test_key.json()["error"]["code"] == "resource_missing"
    assert mainnet_with_test_key.json()["error"]["param"] == "key"
    assert testnet_with_live_key.status_code == 404
    assert mainnet_with_live_key.status_code == 200
    assert mainnet_with_live_key.json()["chain_id"] == 8453
    assert unknown.status_code == 404
    assert too_long.status_code == 400


async def test_tokens_are_listed_per_network_and_filtered(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    live_headers: dict[str, str],
    registry: NetworkRegistry,
) -> None:
    test_tokens = (await api.get("/v1/tokens")).json()
    live_tokens = (await client.get("/v1/tokens", headers=live_headers)).json()
    live_usdt = (
        await client.get("/v1/tokens", params={"symbol": "USDT"}, headers=live_headers)
    ).json()
    on_base = (
        await client.get("/v1/tokens", params={"network": "base"}, headers=live_headers)
    ).json()

    assert test_tokens["url"] == "/v1/tokens"
    assert [(t["network"], t["symbol"]) for t in test_tokens["data"]] == [
        (n.key, t.symbol) for n in registry if n.is_testnet for t in n.tokens.values()
    ]
    assert len(live_tokens["data"]) == 9
    assert [t["network"] for t in live_usdt["data"]] == [
        "ethereum",
        "polygon",
        "arbitrum",
        "optimism",
    ]
    assert on_base["data"] == [
        {
            "object": "token",
            "address": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
            "chain_id": 8453,
            "decimals": 6,
            "network": "base",
            "symbol": "USDC",
        }
    ]


async def test_networks_need_an_api_key(client: httpx.AsyncClient) -> None:
    for path in ("/v1/networks", "/v1/networks/base-sepolia", "/v1/tokens"):
        response = await client.get(path)

        assert response.status_code == 401, path
        assert response.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("params", [{"network": "n" * 41}, {"symbol": "s" * 17}, {"chain_id": "1"}])
async def test_invalid_token_filters_are_400(
    api: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await api.get("/v1/tokens", params=params)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == next(iter(params))
