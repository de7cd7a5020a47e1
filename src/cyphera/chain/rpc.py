"""Reading chains over JSON-RPC from the API: the registry's endpoints, in failover order.

`ChainRpc.answers` yields each HTTP endpoint's JSON answer to one request until the caller has
what it needs; an endpoint that cannot be reached, or answers something that is not JSON, is
skipped. `ChainRpc.call` is an ``eth_call`` on the latest block: the return data of the first
endpoint that really answers, `ChainUnavailable` (503, safe to retry) when none does.
`block_number`, `get_logs`, `block_timestamp` and `transaction_receipt` read the head, a
contract's event logs over a block range, a block's time and a transaction's receipt the same way
(an endpoint answering an error, for example a range it will not serve, or nothing for a block it
does not have yet, is skipped too; a receipt no endpoint has is None). Redirects are
never followed (an RPC URL is configuration, not something to be sent elsewhere by).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import structlog
from eth_utils.address import to_checksum_address

from cyphera.chain.errors import ChainUnavailable, NetworkNotFound
from cyphera.chain.networks import NetworkRegistry

DEFAULT_TIMEOUT_SECONDS = 5.0
_HTTP_SCHEMES = ("http://", "https://")

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChainLog:
    """One event log as ``eth_getLogs`` returns it (``block_timestamp`` when the node adds it)."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: str
    transaction_hash: str
    log_index: int
    removed: bool = False
    block_timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class ChainReceipt:
    """A mined transaction's receipt: its block, whether it succeeded, and its logs."""

    transaction_hash: str
    block_number: int
    is_success: bool
    to: str | None
    logs: tuple[ChainLog, ...]


Topic = bytes | Sequence[bytes] | None
"""One position of a log filter: a value, any of several values, or None for any value."""


def _quantity(value: Any) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"not a JSON-RPC quantity: {value!r}")
    return int(value, 16)


def _data(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError("not JSON-RPC data")
    return bytes.fromhex(value[2:])


def _log(raw: Any) -> ChainLog:
    if not isinstance(raw, dict):
        raise ValueError("a log is not an object")
    timestamp = raw.get("blockTimestamp")
    return ChainLog(
        address=to_checksum_address(raw["address"]),
        topics=tuple(_data(topic) for topic in raw.get("topics", [])),
        data=_data(raw.get("data", "0x")),
        block_number=_quantity(raw["blockNumber"]),
        block_hash=str(raw["blockHash"]),
        transaction_hash=str(raw["transactionHash"]),
        log_index=_quantity(raw["logIndex"]),
        removed=bool(raw.get("removed", False)),
        block_timestamp=_quantity(timestamp) if timestamp is not None else None,
    )


def _logs(result: Any) -> list[ChainLog]:
    if not isinstance(result, list):
        raise ValueError("eth_getLogs did not answer a list")
    return [_log(raw) for raw in result]


def _receipt(result: Any) -> ChainReceipt:
    if not isinstance(result, dict):
        raise ValueError("a receipt is not an object")
    to = result.get("to")
    return ChainReceipt(
        transaction_hash=str(result["transactionHash"]),
        block_number=_quantity(result["blockNumber"]),
        is_success=_quantity(result["status"]) == 1,
        to=to_checksum_address(to) if isinstance(to, str) else None,
        logs=tuple(_logs(result.get("logs", []))),
    )


def _topic(topic: Topic) -> str | list[str] | None:
    if topic is None:
        return None
    if isinstance(topic, bytes):
        return "0x" + topic.hex()
    return ["0x" + value.hex() for value in topic]


def _timestamp(result: Any) -> int:
    if not isinstance(result, dict):
        raise ValueError("no such block")
    return _quantity(result.get("timestamp"))


class ChainRpc:
    """JSON-RPC reads through the registry's HTTP endpoints (websocket ones are skipped)."""

    def __init__(
        self,
        registry: NetworkRegistry | None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.registry = registry
        self.timeout_seconds = timeout_seconds
        self.transport = transport

    def urls(self, chain_id: int) -> tuple[str, ...]:
        if self.registry is None:
            return ()
        try:
            network = self.registry.by_chain_id(chain_id)
        except NetworkNotFound:
            return ()
        return tuple(url for url in network.rpc_urls if url.startswith(_HTTP_SCHEMES))

    async def answers(
        self, chain_id: int, method: str, params: list[Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """Each endpoint's answer to ``method(params)``, in failover order."""
        payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with httpx.AsyncClient(
            timeout=self.timeout_seconds, follow_redirects=False, transport=self.transport
        ) as http:
            for url in self.urls(chain_id):
                try:
                    response = await http.post(url, json=payload)
                    response.raise_for_status()
                    answer = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning(
                        "chain.rpc_failed",
                        chain_id=chain_id,
                        method=method,
                        error=type(exc).__name__,
                    )
                    continue
                if isinstance(answer, dict):
                    yield answer

    async def _first(
        self, chain_id: int, method: str, params: list[Any], parse: Callable[[Any], T]
    ) -> T:
        """The first endpoint's ``result`` that `parse` accepts (it raises on anything else)."""
        async for answer in self.answers(chain_id, method, params):
            try:
                return parse(answer.get("result"))
            except (ValueError, KeyError, TypeError):
                error = answer.get("error")
                log.warning(
                    "chain.rpc_unusable_answer",
                    chain_id=chain_id,
                    method=method,
                    error_code=error.get("code") if isinstance(error, dict) else None,
                )
                continue
        raise ChainUnavailable(f"chain {chain_id} could not be read; retry shortly")

    async def block_number(self, chain_id: int) -> int:
        """The number of the newest block (``eth_blockNumber``)."""
        return await self._first(chain_id, "eth_blockNumber", [], _quantity)

    async def block_timestamp(self, chain_id: int, block_number: int) -> int:
        """Block `block_number`'s ``timestamp`` (seconds since the epoch)."""
        return await self._first(
            chain_id, "eth_getBlockByNumber", [hex(block_number), False], _timestamp
        )

    async def get_logs(
        self,
        chain_id: int,
        *,
        address: str,
        topics: Sequence[Topic],
        from_block: int,
        to_block: int,
    ) -> list[ChainLog]:
        """``eth_getLogs`` of `address` in blocks `from_block`..`to_block` (inclusive) whose
        topics match `topics` position by position (None: any; a sequence: any of those)."""
        flt = {
            "address": to_checksum_address(address),
            "topics": [_topic(topic) for topic in topics],
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
        }
        return await self._first(chain_id, "eth_getLogs", [flt], _logs)

    async def transaction_receipt(self, chain_id: int, tx_hash: str) -> ChainReceipt | None:
        """The receipt of `tx_hash`, or None when no endpoint knows a mined transaction of that
        hash (never sent, dropped, or reorged out and not yet mined again)."""
        answered = False
        async for answer in self.answers(chain_id, "eth_getTransactionReceipt", [tx_hash]):
            if "error" in answer:
                continue
            answered = True
            result = answer.get("result")
            if result is None:
                continue  # this endpoint may lag behind the others
            try:
                return _receipt(result)
            except (ValueError, KeyError, TypeError):
                log.warning("chain.rpc_unusable_answer", chain_id=chain_id, method="receipt")
                continue
        if not answered:
            raise ChainUnavailable(f"chain {chain_id} could not be read; retry shortly")
        return None

    async def call(self, chain_id: int, *, to: str, data: bytes) -> bytes:
        """``eth_call`` of `data` on `to` at the latest block: the return data."""
        request = {"to": to_checksum_address(to), "data": "0x" + data.hex()}
        async for answer in self.answers(chain_id, "eth_call", [request, "latest"]):
            result = answer.get("result")
            if isinstance(result, str) and result.startswith("0x"):
                try:
                    return bytes.fromhex(result[2:])
                except ValueError:
                    continue
        raise ChainUnavailable(f"chain {chain_id} could not be read; retry shortly")
