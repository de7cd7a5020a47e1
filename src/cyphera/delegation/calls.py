"""Calldata for the manager, the enforcers' views and ERC-20 `transfer`, and their return data.

Selectors are computed from the Solidity signatures (and pinned by tests) rather than copied as
magic numbers, so a typo in a signature cannot hide behind a correct-looking constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from cyphera.delegation._values import as_bytes, check_uint, checksum
from cyphera.delegation.encoding import DELEGATION_ABI, delegation_to_abi
from cyphera.delegation.errors import EncodingError
from cyphera.delegation.structs import Delegation


def selector(signature: str) -> bytes:
    """The 4-byte function (or error) selector of a canonical Solidity signature."""
    return keccak(text=signature)[:4]


REDEEM_DELEGATIONS_SELECTOR = selector("redeemDelegations(bytes[],bytes32[],bytes[])")
DISABLE_DELEGATION_SELECTOR = selector(f"disableDelegation({DELEGATION_ABI})")
ENABLE_DELEGATION_SELECTOR = selector(f"enableDelegation({DELEGATION_ABI})")
DISABLED_DELEGATIONS_SELECTOR = selector("disabledDelegations(bytes32)")
GET_DELEGATION_HASH_SELECTOR = selector(f"getDelegationHash({DELEGATION_ABI})")
GET_DOMAIN_HASH_SELECTOR = selector("getDomainHash()")
GET_AVAILABLE_AMOUNT_SELECTOR = selector("getAvailableAmount(bytes32,address,bytes)")
INCREMENT_NONCE_SELECTOR = selector("incrementNonce(address)")
CURRENT_NONCE_SELECTOR = selector("currentNonce(address,address)")
ERC20_TRANSFER_SELECTOR = selector("transfer(address,uint256)")
ERC20_BALANCE_OF_SELECTOR = selector("balanceOf(address)")


def _decode_return(types: list[str], returndata: bytes, what: str) -> tuple[Any, ...]:
    raw = as_bytes(returndata, field=f"{what} return data")
    try:
        values = decode(types, raw)
    except Exception as exc:
        raise EncodingError(
            f"{what} returned malformed data: {exc}", code="malformed_returndata"
        ) from exc
    # Static return types have exactly one encoding; anything longer is not this function's answer.
    if encode(types, list(values)) != raw:
        raise EncodingError(f"{what} returned non-canonical data", code="malformed_returndata")
    return values


def encode_redeem_delegations(
    permission_contexts: Sequence[bytes],
    modes: Sequence[bytes],
    execution_calldatas: Sequence[bytes],
) -> bytes:
    """`DelegationManager.redeemDelegations(bytes[],bytes32[],bytes[])` calldata.

    The three arrays are parallel: entry i redeems context i with mode i and execution data i.
    """
    if not len(permission_contexts) == len(modes) == len(execution_calldatas):
        raise EncodingError(
            "permission_contexts, modes and execution_calldatas must have the same length",
            code="length_mismatch",
        )
    contexts = [as_bytes(c, field="permission context") for c in permission_contexts]
    mode_values = [as_bytes(m, field="mode", length=32) for m in modes]
    executions = [as_bytes(e, field="execution calldata") for e in execution_calldatas]
    return REDEEM_DELEGATIONS_SELECTOR + encode(
        ["bytes[]", "bytes32[]", "bytes[]"], [contexts, mode_values, executions]
    )


def encode_disable_delegation(delegation: Delegation) -> bytes:
    """`disableDelegation(Delegation)` calldata; the delegator's account must send it."""
    return DISABLE_DELEGATION_SELECTOR + encode([DELEGATION_ABI], [delegation_to_abi(delegation)])


def encode_enable_delegation(delegation: Delegation) -> bytes:
    """`enableDelegation(Delegation)` calldata (undoes a disable)."""
    return ENABLE_DELEGATION_SELECTOR + encode([DELEGATION_ABI], [delegation_to_abi(delegation)])


def encode_get_delegation_hash(delegation: Delegation) -> bytes:
    """`getDelegationHash(Delegation)` calldata (a view; cross-checks `hash_delegation`)."""
    return GET_DELEGATION_HASH_SELECTOR + encode([DELEGATION_ABI], [delegation_to_abi(delegation)])


def decode_get_delegation_hash(returndata: bytes) -> bytes:
    """The bytes32 `getDelegationHash` returned."""
    (value,) = _decode_return(["bytes32"], returndata, "getDelegationHash")
    return bytes(value)


def encode_get_domain_hash() -> bytes:
    """`getDomainHash()` calldata."""
    return GET_DOMAIN_HASH_SELECTOR


def decode_get_domain_hash(returndata: bytes) -> bytes:
    """The bytes32 `getDomainHash` returned."""
    (value,) = _decode_return(["bytes32"], returndata, "getDomainHash")
    return bytes(value)


def encode_disabled_delegations(delegation_hash: bytes) -> bytes:
    """`disabledDelegations(bytes32)` calldata."""
    return DISABLED_DELEGATIONS_SELECTOR + encode(
        ["bytes32"], [as_bytes(delegation_hash, field="delegation_hash", length=32)]
    )


def decode_disabled_delegations(returndata: bytes) -> bool:
    """Whether the delegation is disabled."""
    (value,) = _decode_return(["bool"], returndata, "disabledDelegations")
    return bool(value)


def encode_get_available_amount(
    delegation_hash: bytes, delegation_manager: str, terms: bytes
) -> bytes:
    """`ERC20PeriodTransferEnforcer.getAvailableAmount(bytes32,address,bytes)` calldata.

    `delegation_hash` is the hash of the delegation that carries the period caveat.
    """
    return GET_AVAILABLE_AMOUNT_SELECTOR + encode(
        ["bytes32", "address", "bytes"],
        [
            as_bytes(delegation_hash, field="delegation_hash", length=32),
            checksum(delegation_manager, field="delegation_manager"),
            as_bytes(terms, field="terms"),
        ],
    )


def decode_get_available_amount(returndata: bytes) -> tuple[int, bool, int]:
    """``(available, is_new_period, current_period)``; period 0 means "not started yet"."""
    available, is_new_period, current_period = _decode_return(
        ["uint256", "bool", "uint256"], returndata, "getAvailableAmount"
    )
    return int(available), bool(is_new_period), int(current_period)


def encode_increment_nonce(delegation_manager: str) -> bytes:
    """`NonceEnforcer.incrementNonce(address)` calldata, sent by the delegator's account.

    It invalidates every delegation of that account whose Nonce caveat carries the old nonce.
    """
    return INCREMENT_NONCE_SELECTOR + encode(
        ["address"], [checksum(delegation_manager, field="delegation_manager")]
    )


def encode_current_nonce(delegation_manager: str, delegator: str) -> bytes:
    """`NonceEnforcer.currentNonce(address,address)` calldata."""
    return CURRENT_NONCE_SELECTOR + encode(
        ["address", "address"],
        [
            checksum(delegation_manager, field="delegation_manager"),
            checksum(delegator, field="delegator"),
        ],
    )


def decode_current_nonce(returndata: bytes) -> int:
    """The nonce `currentNonce` returned."""
    (value,) = _decode_return(["uint256"], returndata, "currentNonce")
    return int(value)


def encode_erc20_transfer(to: str, amount: int) -> bytes:
    """ERC-20 `transfer(address,uint256)` calldata (68 bytes, as the period enforcer requires)."""
    return ERC20_TRANSFER_SELECTOR + encode(
        ["address", "uint256"], [checksum(to, field="to"), check_uint(amount, field="amount")]
    )


def decode_erc20_transfer(calldata: bytes) -> tuple[str, int]:
    """``(to, amount)`` of an ERC-20 `transfer` call; anything else raises `EncodingError`."""
    raw = as_bytes(calldata, field="calldata")
    if len(raw) != 68 or raw[:4] != ERC20_TRANSFER_SELECTOR:
        raise EncodingError(
            "not an ERC-20 transfer(address,uint256) call", code="malformed_calldata"
        )
    to, amount = _decode_return(["address", "uint256"], raw[4:], "transfer calldata")
    return checksum(to), int(amount)


def encode_erc20_balance_of(account: str) -> bytes:
    """ERC-20 `balanceOf(address)` calldata (pre-flight balance checks)."""
    return ERC20_BALANCE_OF_SELECTOR + encode(["address"], [checksum(account, field="account")])


def decode_erc20_balance_of(returndata: bytes) -> int:
    """The balance `balanceOf` returned."""
    (value,) = _decode_return(["uint256"], returndata, "balanceOf")
    return int(value)
