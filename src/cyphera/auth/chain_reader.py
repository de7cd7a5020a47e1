"""ERC-1271 over JSON-RPC: asking a smart account whether it signed a sign-in message.

`RpcSignatureChecker` is the production `cyphera.auth.siwe.SignatureChecker`: an ``eth_call`` of
``isValidSignature(bytes32,bytes)`` on the message's chain, through the RPC URLs the network
registry has for that chain, in failover order. An account without code answers ``0x`` (not the
magic value), a refusing account reverts or answers something else: both are "not signed". Only
when no endpoint answers at all is it `SignatureCheckUnavailable` (503, safe to retry).

EIP-7702 accounts need nothing special: a call to a delegated EOA runs its delegate's code
(EIP7702StatelessDeleGator implements ERC-1271 with the EOA's own key). Counterfactual accounts
that are not deployed yet (ERC-6492 wrapped signatures) are not supported.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address

from cyphera.auth.errors import SignatureCheckUnavailable
from cyphera.auth.signatures import ERC1271_MAGIC_VALUE
from cyphera.chain.networks import NetworkRegistry
from cyphera.chain.rpc import DEFAULT_TIMEOUT_SECONDS, ChainRpc

# JSON-RPC error codes nodes use for a reverted call (geth: 3; others: -32000 with a message).
_REVERT_CODE = 3
_WORD = 32

log = structlog.get_logger(__name__)


class RpcSignatureChecker:
    """ERC-1271 checks through the registry's RPC endpoints (`cyphera.chain.rpc.ChainRpc`)."""

    def __init__(
        self,
        registry: NetworkRegistry | None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.rpc = ChainRpc(registry, timeout_seconds=timeout_seconds, transport=transport)

    async def is_valid_signature(
        self, *, chain_id: int, account: str, digest: bytes, signature: bytes
    ) -> bool:
        if not self.rpc.urls(chain_id):
            log.warning("siwe.erc1271_unconfigured", chain_id=chain_id)
            return False
        data = ERC1271_MAGIC_VALUE + encode(["bytes32", "bytes"], [digest, signature])
        request = {"to": to_checksum_address(account), "data": "0x" + data.hex()}
        async for answer in self.rpc.answers(chain_id, "eth_call", [request, "latest"]):
            verdict = _verdict(answer)
            if verdict is not None:
                return verdict
        raise SignatureCheckUnavailable(
            f"chain {chain_id} could not be reached to check the smart account's signature; "
            "retry shortly"
        )


def _verdict(answer: Any) -> bool | None:
    """True/False for a call that ran (or reverted); None when the node did not really answer."""
    if not isinstance(answer, dict):
        return None
    error = answer.get("error")
    if isinstance(error, dict):
        message = str(error.get("message", "")).lower()
        if error.get("code") == _REVERT_CODE or "revert" in message:
            return False
        return None  # rate limits, unknown block, …: another endpoint may answer
    result = answer.get("result")
    if not isinstance(result, str) or not result.startswith("0x"):
        return None
    try:
        returned = bytes.fromhex(result[2:])
    except ValueError:
        return None
    # An ABI-encoded bytes4 is left-aligned in one 32-byte word.
    return len(returned) >= _WORD and returned[:4] == ERC1271_MAGIC_VALUE
