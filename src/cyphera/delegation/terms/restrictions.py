"""Terms of the restricting enforcers: time window, counters, value, nonce, lists, calldata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from cyphera.delegation._values import checksum
from cyphera.delegation.errors import TermsError
from cyphera.delegation.terms._codec import (
    address_at,
    expect_length,
    int_at,
    raw_terms,
    units,
    valid_address,
    valid_uint,
    word,
)

# ---------------------------------------------------------------- TimestampEnforcer


@dataclass(frozen=True, slots=True)
class TimestampTerms:
    """Valid while ``after < block.timestamp < before``; 0 disables that side (strict comparisons)."""

    after: int
    before: int


def timestamp(after: int, before: int) -> bytes:
    """uint128 after ‖ uint128 before — 32 bytes. Both set requires ``after < before``."""
    after_value = valid_uint(after, "after", bits=128)
    before_value = valid_uint(before, "before", bits=128)
    if after_value and before_value and after_value >= before_value:
        raise TermsError("after must be earlier than before", code="value_out_of_range")
    return after_value.to_bytes(16, "big") + before_value.to_bytes(16, "big")


def decode_timestamp(terms: bytes) -> TimestampTerms:
    """Decode `timestamp` terms."""
    raw = raw_terms(terms, "Timestamp")
    expect_length(raw, 32, "Timestamp")
    decoded = TimestampTerms(after=int_at(raw, 0, 16), before=int_at(raw, 16, 16))
    timestamp(decoded.after, decoded.before)
    return decoded


# ---------------------------------------------------------------- single-word enforcers


@dataclass(frozen=True, slots=True)
class LimitedCallsTerms:
    """At most ``limit`` redemptions."""

    limit: int


def limited_calls(limit: int) -> bytes:
    """uint256 limit (≥ 1) — 32 bytes."""
    return word(valid_uint(limit, "limit", minimum=1))


def decode_limited_calls(terms: bytes) -> LimitedCallsTerms:
    """Decode `limited_calls` terms."""
    raw = raw_terms(terms, "LimitedCalls")
    expect_length(raw, 32, "LimitedCalls")
    decoded = LimitedCallsTerms(limit=int_at(raw, 0))
    limited_calls(decoded.limit)
    return decoded


@dataclass(frozen=True, slots=True)
class ValueLteTerms:
    """Native value sent with the execution is at most ``max_value`` wei."""

    max_value: int


def value_lte(max_value: int) -> bytes:
    """uint256 max wei — 32 bytes."""
    return word(valid_uint(max_value, "max_value"))


def decode_value_lte(terms: bytes) -> ValueLteTerms:
    """Decode `value_lte` terms."""
    raw = raw_terms(terms, "ValueLte")
    expect_length(raw, 32, "ValueLte")
    return ValueLteTerms(max_value=int_at(raw, 0))


@dataclass(frozen=True, slots=True)
class NonceTerms:
    """Valid while the delegator's nonce at the manager equals ``value``."""

    value: int


def nonce(value: int) -> bytes:
    """uint256 nonce — 32 bytes."""
    return word(valid_uint(value, "nonce"))


def decode_nonce(terms: bytes) -> NonceTerms:
    """Decode `nonce` terms."""
    raw = raw_terms(terms, "Nonce")
    expect_length(raw, 32, "Nonce")
    return NonceTerms(value=int_at(raw, 0))


# ---------------------------------------------------------------- list enforcers


@dataclass(frozen=True, slots=True)
class RedeemerTerms:
    """Only these addresses may redeem (be `msg.sender` of `redeemDelegations`)."""

    addresses: tuple[str, ...]


def redeemer(addresses: Sequence[str]) -> bytes:
    """n x 20-byte addresses (n ≥ 1)."""
    if not addresses:
        raise TermsError("at least one redeemer is required", code="invalid_terms")
    return b"".join(bytes.fromhex(valid_address(a, "redeemer")[2:]) for a in addresses)


def decode_redeemer(terms: bytes) -> RedeemerTerms:
    """Decode `redeemer` terms."""
    chunks = units(raw_terms(terms, "Redeemer"), 20, "Redeemer")
    return RedeemerTerms(addresses=tuple(checksum("0x" + unit.hex()) for unit in chunks))


@dataclass(frozen=True, slots=True)
class AllowedTargetsTerms:
    """The execution's target must be one of ``addresses``."""

    addresses: tuple[str, ...]


def allowed_targets(addresses: Sequence[str]) -> bytes:
    """n x 20-byte addresses (n ≥ 1)."""
    if not addresses:
        raise TermsError("at least one target is required", code="invalid_terms")
    return b"".join(bytes.fromhex(valid_address(a, "target")[2:]) for a in addresses)


def decode_allowed_targets(terms: bytes) -> AllowedTargetsTerms:
    """Decode `allowed_targets` terms."""
    chunks = units(raw_terms(terms, "AllowedTargets"), 20, "AllowedTargets")
    return AllowedTargetsTerms(addresses=tuple(checksum("0x" + unit.hex()) for unit in chunks))


@dataclass(frozen=True, slots=True)
class AllowedMethodsTerms:
    """The execution's 4-byte selector must be one of ``selectors``."""

    selectors: tuple[bytes, ...]


def _selector(value: bytes | str) -> bytes:
    if isinstance(value, bytes | bytearray):
        if len(value) != 4:
            raise TermsError("a selector is exactly 4 bytes", code="invalid_terms")
        return bytes(value)
    if isinstance(value, str) and "(" in value and value.endswith(")"):
        return keccak(text=value.replace(" ", ""))[:4]
    if isinstance(value, str) and len(value) == 10 and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise TermsError(
        "a selector is 4 bytes, a 0x-prefixed 8-digit hex string or a function signature",
        code="invalid_terms",
    )


def allowed_methods(selectors: Sequence[bytes | str]) -> bytes:
    """n x 4-byte selectors (n ≥ 1); accepts bytes, ``"0xa9059cbb"`` or ``"transfer(address,uint256)"``."""
    if not selectors:
        raise TermsError("at least one selector is required", code="invalid_terms")
    return b"".join(_selector(s) for s in selectors)


def decode_allowed_methods(terms: bytes) -> AllowedMethodsTerms:
    """Decode `allowed_methods` terms."""
    return AllowedMethodsTerms(
        selectors=tuple(units(raw_terms(terms, "AllowedMethods"), 4, "AllowedMethods"))
    )


# ---------------------------------------------------------------- AllowedCalldataEnforcer


@dataclass(frozen=True, slots=True)
class AllowedCalldataTerms:
    """The execution calldata must hold ``value`` at byte offset ``start_index``."""

    start_index: int
    value: bytes


def allowed_calldata(start_index: int, value: bytes) -> bytes:
    """uint256 startIndex ‖ expected bytes (at least 1, as the enforcer requires)."""
    expected = raw_terms(value, "AllowedCalldata value")
    if not expected:
        raise TermsError("the expected calldata value must not be empty", code="invalid_terms")
    return word(valid_uint(start_index, "start_index")) + expected


def decode_allowed_calldata(terms: bytes) -> AllowedCalldataTerms:
    """Decode `allowed_calldata` terms."""
    raw = raw_terms(terms, "AllowedCalldata")
    if len(raw) < 33:
        raise TermsError(
            f"AllowedCalldata terms need at least 33 bytes, got {len(raw)}",
            code="invalid_terms_length",
        )
    return AllowedCalldataTerms(start_index=int_at(raw, 0), value=raw[32:])


@dataclass(frozen=True, slots=True)
class PayeeTerms:
    """An ERC-20 `transfer` recipient lock: calldata bytes 4..36 are abi.encode(``address``)."""

    address: str


PAYEE_START_INDEX = 4
"""The recipient of `transfer(address,uint256)` starts after the 4-byte selector."""


def payee(address: str) -> bytes:
    """``allowed_calldata(4, abi.encode(address))`` — locks an ERC-20 transfer's recipient."""
    return allowed_calldata(
        PAYEE_START_INDEX, encode(["address"], [valid_address(address, "payee")])
    )


def decode_payee(terms: bytes) -> PayeeTerms:
    """Decode `payee` terms; any other AllowedCalldata shape raises ``TermsError(invalid_terms)``."""
    decoded = decode_allowed_calldata(terms)
    value = decoded.value
    if decoded.start_index != PAYEE_START_INDEX or len(value) != 32 or any(value[:12]):
        raise TermsError(
            "AllowedCalldata terms are not a payee lock (start index 4, abi-encoded address)",
            code="invalid_terms",
        )
    return PayeeTerms(address=address_at(value, 12))
