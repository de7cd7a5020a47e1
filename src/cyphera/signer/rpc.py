"""A small JSON-RPC client for the signer: failover across a network's URLs, precise errors.

Why not web3.py here: the transaction manager must tell apart "the node is unreachable" (retry,
maybe on another URL), "the call reverted with this data" (classify, fail the charge) and "the node
refused this raw transaction for this reason" (already known, nonce too low, underpriced...). A
thin client over httpx keeps those three cases explicit and typed.

RPC URLs often embed provider API keys, so no message, log line or exception here ever contains
one: endpoints are named by their position (``endpoint #2``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from cyphera.signer.errors import ChainUnavailable

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class RpcError(Exception):
    """The node answered with a JSON-RPC error (it is reachable; the request was refused)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"JSON-RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class CallReverted(RpcError):
    """An ``eth_call`` or ``eth_estimateGas`` reverted; ``revert_data`` is the raw revert bytes."""

    def __init__(self, code: int, message: str, revert_data: bytes) -> None:
        super().__init__(code, message, "0x" + revert_data.hex())
        self.revert_data = revert_data


@dataclass(frozen=True, slots=True)
class BlockHead:
    number: int
    timestamp: int
    base_fee: int


@dataclass(frozen=True, slots=True)
class Log:
    address: str
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class Receipt:
    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    status: int
    logs: tuple[Log, ...]


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError("expected 0x-hex")
    return bytes.fromhex(value[2:])


def _revert_data(error: dict[str, Any]) -> bytes | None:
    """The revert bytes in a JSON-RPC error, as geth, anvil, erigon and most providers put them."""
    data = error.get("data")
    if isinstance(data, dict):  # some providers nest it: {"data": {"data": "0x..."}}
        data = data.get("data")
    message = str(error.get("message", ""))
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    if error.get("code") == 3 or "revert" in message.lower():
        return b""
    return None


class RpcClient:
    """JSON-RPC over HTTP to one chain, failing over across `urls` in order.

    The last URL that answered is tried first next time. Transport failures (refused, timeout,
    HTTP 5xx/429, garbage) move on to the next URL; when all fail, `ChainUnavailable` is raised.
    A JSON-RPC error is an answer, not a failure: it is raised as `RpcError` / `CallReverted`.
    """

    def __init__(
        self, urls: Sequence[str], *, chain_id: int, timeout_seconds: float = 10.0
    ) -> None:
        if not urls:
            raise ValueError("an RPC client needs at least one URL")
        self._urls = tuple(urls)
        self._chain_id = chain_id
        self._preferred = 0
        self._http = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Call `method`; return its ``result``."""
        payload = {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": list(params)}
        order = [(self._preferred + i) % len(self._urls) for i in range(len(self._urls))]
        for index in order:
            try:
                response = await self._http.post(self._urls[index], json=payload)
                if response.status_code == 429 or response.status_code >= 500:
                    raise httpx.HTTPStatusError(
                        "server error", request=response.request, response=response
                    )
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                # The exception text may carry the URL: log its type only.
                log.warning(
                    "rpc.endpoint_failed chain_id=%s endpoint=#%d method=%s error=%s",
                    self._chain_id,
                    index + 1,
                    method,
                    type(exc).__name__,
                )
                continue
            self._preferred = index
            if not isinstance(body, dict):
                raise ChainUnavailable(f"chain {self._chain_id}: malformed JSON-RPC answer")
            if "error" in body and body["error"] is not None:
                error = (
                    body["error"]
                    if isinstance(body["error"], dict)
                    else {"message": str(body["error"])}
                )
                code = _int(error.get("code", 0))
                message = str(error.get("message", ""))
                if method in ("eth_call", "eth_estimateGas"):
                    revert = _revert_data(error)
                    if revert is not None:
                        raise CallReverted(code, message, revert)
                raise RpcError(code, message, error.get("data"))
            return body.get("result")
        raise ChainUnavailable(
            f"chain {self._chain_id}: no RPC endpoint answered ({len(self._urls)} tried)"
        )

    async def chain_id(self) -> int:
        return _int(await self.request("eth_chainId"))

    async def block_number(self) -> int:
        return _int(await self.request("eth_blockNumber"))

    async def latest_block(self) -> BlockHead:
        """Number, timestamp and base fee (0 before London) of the latest block."""
        block = await self.request("eth_getBlockByNumber", ["latest", False])
        if not isinstance(block, dict):
            raise ChainUnavailable(f"chain {self._chain_id}: no latest block")
        return BlockHead(
            number=_int(block["number"]),
            timestamp=_int(block["timestamp"]),
            base_fee=_int(block.get("baseFeePerGas") or "0x0"),
        )

    async def max_priority_fee(self) -> int:
        return _int(await self.request("eth_maxPriorityFeePerGas"))

    async def balance(self, address: str, block: str = "latest") -> int:
        return _int(await self.request("eth_getBalance", [address, block]))

    async def transaction_count(self, address: str, block: str = "pending") -> int:
        return _int(await self.request("eth_getTransactionCount", [address, block]))

    async def call(
        self, *, to: str, data: bytes, sender: str | None = None, block: str = "latest"
    ) -> bytes:
        """``eth_call``; raises `CallReverted` with the revert data when it reverts."""
        call: dict[str, str] = {"to": to, "data": "0x" + data.hex()}
        if sender is not None:
            call["from"] = sender
        return _bytes(await self.request("eth_call", [call, block]))

    async def estimate_gas(self, *, to: str, data: bytes, sender: str) -> int:
        call = {"from": sender, "to": to, "data": "0x" + data.hex()}
        return _int(await self.request("eth_estimateGas", [call]))

    async def send_raw_transaction(self, raw: bytes) -> str:
        return str(await self.request("eth_sendRawTransaction", ["0x" + raw.hex()]))

    async def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt of `tx_hash`, or None while it is not in a block (of the current chain)."""
        result = await self.request("eth_getTransactionReceipt", [tx_hash])
        if not isinstance(result, dict) or result.get("blockNumber") is None:
            return None
        return Receipt(
            tx_hash=str(result["transactionHash"]),
            block_number=_int(result["blockNumber"]),
            block_hash=str(result["blockHash"]),
            gas_used=_int(result["gasUsed"]),
            status=_int(result.get("status", "0x1")),
            logs=tuple(
                Log(
                    address=str(entry["address"]),
                    topics=tuple(_bytes(t) for t in entry.get("topics", [])),
                    data=_bytes(entry.get("data", "0x")),
                )
                for entry in result.get("logs", [])
            ),
        )
