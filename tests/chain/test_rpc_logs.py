"""`ChainRpc` reads the head, logs and block times with failover: an endpoint that cannot be
reached, or answers an error (a range it will not serve), is skipped for the next one."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from cyphera.chain.artifacts import FrameworkArtifacts
from cyphera.chain.errors import ChainUnavailable
from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.chain.rpc import ChainRpc

MANAGER = "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3"
LOG = {
    "address": MANAGER.lower(),
    "topics": ["0x" + "ab" * 32, "0x" + "42" * 32],
    "data": "0x",
    "blockNumber": "0x10",
    "blockHash": "0x" + "11" * 32,
    "transactionHash": "0x" + "22" * 32,
    "logIndex": "0x0",
    "removed": False,
}


def registry_with(framework_registry: NetworkRegistry, urls: tuple[str, ...]) -> NetworkRegistry:
    sepolia = dataclasses.replace(framework_registry.get("sepolia"), rpc_urls=urls)
    return NetworkRegistry([sepolia])


@pytest.fixture
def offline_registry(framework_artifacts: FrameworkArtifacts) -> NetworkRegistry:
    return load_registry(None, {}, artifacts=framework_artifacts)


async def test_logs_head_and_time_fail_over_to_the_next_endpoint(
    offline_registry: NetworkRegistry,
) -> None:
    asked: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append((request.url.host, body["method"]))
        if request.url.host == "down.example":
            return httpx.Response(502)
        if request.url.host == "picky.example":
            return httpx.Response(200, json={"id": 1, "error": {"code": -32005, "message": "x"}})
        result: Any = {
            "eth_blockNumber": "0x20",
            "eth_getLogs": [LOG],
            "eth_getBlockByNumber": {"number": "0x10", "timestamp": "0x6553f100"},
        }[body["method"]]
        return httpx.Response(200, json={"id": 1, "result": result})

    urls = ("https://down.example/", "https://picky.example/", "https://good.example/")
    rpc = ChainRpc(registry_with(offline_registry, urls), transport=httpx.MockTransport(answer))

    assert await rpc.block_number(11155111) == 0x20
    [log] = await rpc.get_logs(
        11155111, address=MANAGER, topics=[b"\xab" * 32, None], from_block=1, to_block=0x20
    )
    assert (log.address, log.block_number, log.log_index) == (MANAGER, 16, 0)
    assert log.topics == (b"\xab" * 32, b"\x42" * 32)
    assert log.block_timestamp is None
    assert await rpc.block_timestamp(11155111, 16) == 0x6553F100
    assert [host for host, method in asked if method == "eth_getLogs"] == [
        "down.example",
        "picky.example",
        "good.example",
    ]


async def test_no_endpoint_answering_is_chain_unavailable(
    offline_registry: NetworkRegistry,
) -> None:
    rpc = ChainRpc(
        registry_with(offline_registry, ("https://down.example/",)),
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
    )
    with pytest.raises(ChainUnavailable):
        await rpc.get_logs(11155111, address=MANAGER, topics=[], from_block=1, to_block=2)
