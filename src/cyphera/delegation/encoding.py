"""ABI encodings the manager consumes: permission contexts and ERC-7579 execution calldata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import decode, encode

from cyphera.delegation._values import address_bytes, as_bytes, check_uint, checksum
from cyphera.delegation.errors import DelegationError, EncodingError
from cyphera.delegation.structs import Caveat, Delegation, Execution

DELEGATION_ABI = "(address,address,bytes32,(address,bytes,bytes)[],uint256,bytes)"
DELEGATION_ARRAY_ABI = DELEGATION_ABI + "[]"
EXECUTION_ARRAY_ABI = "(address,uint256,bytes)[]"

SINGLE_DEFAULT_MODE: bytes = bytes(32)
"""ERC-7579 mode: single call, revert on failure. The only mode the period enforcer accepts."""

BATCH_DEFAULT_MODE: bytes = b"\x01" + bytes(31)
"""ERC-7579 mode: batch call, revert on failure."""


def delegation_to_abi(delegation: Delegation) -> tuple[Any, ...]:
    """The ABI tuple of one delegation, in the field order of the Solidity struct."""
    return (
        delegation.delegate,
        delegation.delegator,
        delegation.authority,
        [(caveat.enforcer, caveat.terms, caveat.args) for caveat in delegation.caveats],
        delegation.salt,
        delegation.signature,
    )


def delegation_from_abi(value: tuple[Any, ...]) -> Delegation:
    """The inverse of `delegation_to_abi` for a tuple eth-abi decoded."""
    delegate, delegator, authority, caveats, salt, signature = value
    return Delegation(
        delegate=delegate,
        delegator=delegator,
        authority=authority,
        caveats=[Caveat(enforcer=e, terms=t, args=a) for e, t, a in caveats],
        salt=salt,
        signature=signature,
    )


def encode_permission_context(delegations: Sequence[Delegation]) -> bytes:
    """abi.encode(Delegation[]) — leaf (the one whose delegate redeems) first, root last."""
    for delegation in delegations:
        if not isinstance(delegation, Delegation):
            raise EncodingError(
                "a permission context holds Delegation instances", code="invalid_delegation"
            )
    return encode([DELEGATION_ARRAY_ABI], [[delegation_to_abi(d) for d in delegations]])


def decode_permission_context(data: bytes) -> list[Delegation]:
    """Decode a permission context, refusing anything but the canonical encoding.

    Re-encoding must give back the same bytes: trailing data or odd offsets are rejected so one
    context has exactly one byte representation (contexts are stored and compared as bytes).
    """
    raw = as_bytes(data, field="permission context")
    try:
        (values,) = decode([DELEGATION_ARRAY_ABI], raw)
        delegations = [delegation_from_abi(value) for value in values]
    except DelegationError as exc:
        raise EncodingError(
            f"permission context is malformed: {exc.message}", code="malformed_context"
        ) from exc
    except Exception as exc:  # eth-abi raises a family of DecodingError subclasses and ValueError
        raise EncodingError(
            f"permission context is malformed: {exc}", code="malformed_context"
        ) from exc
    if encode_permission_context(delegations) != raw:
        raise EncodingError(
            "permission context is not canonically encoded", code="malformed_context"
        )
    return delegations


def encode_single_execution(target: str, value: int, calldata: bytes) -> bytes:
    """ERC-7579 single-call execution data: encodePacked(target, uint256 value, calldata)."""
    return (
        address_bytes(checksum(target, field="target"))
        + check_uint(value, field="value").to_bytes(32, "big")
        + as_bytes(calldata, field="calldata")
    )


def decode_single_execution(data: bytes) -> Execution:
    """The inverse of `encode_single_execution` (the calldata is everything after byte 52)."""
    raw = as_bytes(data, field="execution calldata")
    if len(raw) < 52:
        raise EncodingError(
            f"single execution data needs at least 52 bytes, got {len(raw)}",
            code="malformed_execution",
        )
    return Execution(
        target="0x" + raw[:20].hex(), value=int.from_bytes(raw[20:52], "big"), calldata=raw[52:]
    )


def encode_batch_execution(executions: Sequence[Execution]) -> bytes:
    """ERC-7579 batch execution data: abi.encode((address,uint256,bytes)[])."""
    return encode([EXECUTION_ARRAY_ABI], [[(e.target, e.value, e.calldata) for e in executions]])


def decode_batch_execution(data: bytes) -> list[Execution]:
    """The inverse of `encode_batch_execution`."""
    raw = as_bytes(data, field="batch execution calldata")
    try:
        (values,) = decode([EXECUTION_ARRAY_ABI], raw)
    except Exception as exc:
        raise EncodingError(
            f"batch execution data is malformed: {exc}", code="malformed_execution"
        ) from exc
    return [Execution(target=t, value=v, calldata=c) for t, v, c in values]
