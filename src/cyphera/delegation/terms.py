"""Caveat terms: a builder and a strict ``decode_<name>`` per enforcer the platform uses.

All terms are tightly packed (no ABI offsets), matching `@metamask/delegation-core` byte for byte.
Builders refuse values the enforcer would reject or that make a caveat useless (zero period amount,
``after >= before``...). Decoders accept exactly what the builders produce, so
``build(decode(terms)) == terms`` holds for every terms blob a decoder accepts; anything else
raises `TermsError` with a stable ``code`` (``invalid_terms_length``, ``value_out_of_range``,
``invalid_address``, ``invalid_terms``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from cyphera.delegation._values import as_bytes, check_uint, checksum
from cyphera.delegation.errors import DelegationError, TermsError


def _address(value: object, field: str) -> str:
    try:
        return checksum(value, field=field)
    except DelegationError as exc:
        raise TermsError(exc.message, code="invalid_address") from exc


def _uint(value: object, field: str, *, bits: int = 256, minimum: int = 0) -> int:
    return check_uint(value, field=field, bits=bits, minimum=minimum, error=TermsError)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _raw(terms: object, name: str) -> bytes:
    try:
        return as_bytes(terms, field=f"{name} terms")
    except DelegationError as exc:
        raise TermsError(exc.message, code="invalid_terms") from exc


def _expect_length(raw: bytes, length: int, name: str) -> None:
    if len(raw) != length:
        raise TermsError(
            f"{name} terms must be exactly {length} bytes, got {len(raw)}",
            code="invalid_terms_length",
        )


def _int_at(raw: bytes, start: int, size: int = 32) -> int:
    return int.from_bytes(raw[start : start + size], "big")


def _address_at(raw: bytes, start: int) -> str:
    return checksum("0x" + raw[start : start + 20].hex())


def _units(raw: bytes, unit: int, name: str) -> list[bytes]:
    if not raw or len(raw) % unit:
        raise TermsError(
            f"{name} terms must be a non-empty multiple of {unit} bytes, got {len(raw)}",
            code="invalid_terms_length",
        )
    return [raw[i : i + unit] for i in range(0, len(raw), unit)]


# ---------------------------------------------------------------- ERC20PeriodTransferEnforcer


@dataclass(frozen=True, slots=True)
class ERC20PeriodTransferTerms:
    """Up to ``period_amount`` of ``token`` per ``period_duration``-second window from ``start_date``."""

    token: str
    period_amount: int
    period_duration: int
    start_date: int


def erc20_period_transfer(
    token: str, period_amount: int, period_duration: int, start_date: int
) -> bytes:
    """token(20) ‖ periodAmount(32) ‖ periodDuration(32) ‖ startDate(32) — 116 bytes.

    The enforcer reverts on first use if any of the three numbers is zero, so they must be ≥ 1.
    """
    return (
        bytes.fromhex(_address(token, "token")[2:])
        + _word(_uint(period_amount, "period_amount", minimum=1))
        + _word(_uint(period_duration, "period_duration", minimum=1))
        + _word(_uint(start_date, "start_date", minimum=1))
    )


def decode_erc20_period_transfer(terms: bytes) -> ERC20PeriodTransferTerms:
    """Decode `erc20_period_transfer` terms."""
    raw = _raw(terms, "ERC20PeriodTransfer")
    _expect_length(raw, 116, "ERC20PeriodTransfer")
    decoded = ERC20PeriodTransferTerms(
        token=_address_at(raw, 0),
        period_amount=_int_at(raw, 20),
        period_duration=_int_at(raw, 52),
        start_date=_int_at(raw, 84),
    )
    erc20_period_transfer(
        decoded.token, decoded.period_amount, decoded.period_duration, decoded.start_date
    )
    return decoded


# ---------------------------------------------------------------- ERC20TransferAmountEnforcer


@dataclass(frozen=True, slots=True)
class ERC20TransferAmountTerms:
    """A lifetime cap of ``max_amount`` of ``token``."""

    token: str
    max_amount: int


def erc20_transfer_amount(token: str, max_amount: int) -> bytes:
    """token(20) ‖ maxAmount(32) — 52 bytes."""
    return bytes.fromhex(_address(token, "token")[2:]) + _word(
        _uint(max_amount, "max_amount", minimum=1)
    )


def decode_erc20_transfer_amount(terms: bytes) -> ERC20TransferAmountTerms:
    """Decode `erc20_transfer_amount` terms."""
    raw = _raw(terms, "ERC20TransferAmount")
    _expect_length(raw, 52, "ERC20TransferAmount")
    decoded = ERC20TransferAmountTerms(token=_address_at(raw, 0), max_amount=_int_at(raw, 20))
    erc20_transfer_amount(decoded.token, decoded.max_amount)
    return decoded


# ---------------------------------------------------------------- ERC20StreamingEnforcer


@dataclass(frozen=True, slots=True)
class ERC20StreamingTerms:
    """``initial_amount`` at ``start_time`` then ``amount_per_second``, capped at ``max_amount``."""

    token: str
    initial_amount: int
    max_amount: int
    amount_per_second: int
    start_time: int


def erc20_streaming(
    token: str, initial_amount: int, max_amount: int, amount_per_second: int, start_time: int
) -> bytes:
    """token(20) ‖ initialAmount ‖ maxAmount ‖ amountPerSecond ‖ startTime (32 each) — 148 bytes."""
    initial = _uint(initial_amount, "initial_amount")
    maximum = _uint(max_amount, "max_amount", minimum=1)
    if maximum < initial:
        raise TermsError("max_amount must be at least initial_amount", code="value_out_of_range")
    return (
        bytes.fromhex(_address(token, "token")[2:])
        + _word(initial)
        + _word(maximum)
        + _word(_uint(amount_per_second, "amount_per_second", minimum=1))
        + _word(_uint(start_time, "start_time", minimum=1))
    )


def decode_erc20_streaming(terms: bytes) -> ERC20StreamingTerms:
    """Decode `erc20_streaming` terms."""
    raw = _raw(terms, "ERC20Streaming")
    _expect_length(raw, 148, "ERC20Streaming")
    decoded = ERC20StreamingTerms(
        token=_address_at(raw, 0),
        initial_amount=_int_at(raw, 20),
        max_amount=_int_at(raw, 52),
        amount_per_second=_int_at(raw, 84),
        start_time=_int_at(raw, 116),
    )
    erc20_streaming(
        decoded.token,
        decoded.initial_amount,
        decoded.max_amount,
        decoded.amount_per_second,
        decoded.start_time,
    )
    return decoded


# ---------------------------------------------------------------- TimestampEnforcer


@dataclass(frozen=True, slots=True)
class TimestampTerms:
    """Valid while ``after < block.timestamp < before``; 0 disables that side (strict comparisons)."""

    after: int
    before: int


def timestamp(after: int, before: int) -> bytes:
    """uint128 after ‖ uint128 before — 32 bytes. Both set requires ``after < before``."""
    after_value = _uint(after, "after", bits=128)
    before_value = _uint(before, "before", bits=128)
    if after_value and before_value and after_value >= before_value:
        raise TermsError("after must be earlier than before", code="value_out_of_range")
    return after_value.to_bytes(16, "big") + before_value.to_bytes(16, "big")


def decode_timestamp(terms: bytes) -> TimestampTerms:
    """Decode `timestamp` terms."""
    raw = _raw(terms, "Timestamp")
    _expect_length(raw, 32, "Timestamp")
    decoded = TimestampTerms(after=_int_at(raw, 0, 16), before=_int_at(raw, 16, 16))
    timestamp(decoded.after, decoded.before)
    return decoded


# ---------------------------------------------------------------- single-word enforcers


@dataclass(frozen=True, slots=True)
class LimitedCallsTerms:
    """At most ``limit`` redemptions."""

    limit: int


def limited_calls(limit: int) -> bytes:
    """uint256 limit (≥ 1) — 32 bytes."""
    return _word(_uint(limit, "limit", minimum=1))


def decode_limited_calls(terms: bytes) -> LimitedCallsTerms:
    """Decode `limited_calls` terms."""
    raw = _raw(terms, "LimitedCalls")
    _expect_length(raw, 32, "LimitedCalls")
    decoded = LimitedCallsTerms(limit=_int_at(raw, 0))
    limited_calls(decoded.limit)
    return decoded


@dataclass(frozen=True, slots=True)
class ValueLteTerms:
    """Native value sent with the execution is at most ``max_value`` wei."""

    max_value: int


def value_lte(max_value: int) -> bytes:
    """uint256 max wei — 32 bytes."""
    return _word(_uint(max_value, "max_value"))


def decode_value_lte(terms: bytes) -> ValueLteTerms:
    """Decode `value_lte` terms."""
    raw = _raw(terms, "ValueLte")
    _expect_length(raw, 32, "ValueLte")
    return ValueLteTerms(max_value=_int_at(raw, 0))


@dataclass(frozen=True, slots=True)
class NonceTerms:
    """Valid while the delegator's nonce at the manager equals ``value``."""

    value: int


def nonce(value: int) -> bytes:
    """uint256 nonce — 32 bytes."""
    return _word(_uint(value, "nonce"))


def decode_nonce(terms: bytes) -> NonceTerms:
    """Decode `nonce` terms."""
    raw = _raw(terms, "Nonce")
    _expect_length(raw, 32, "Nonce")
    return NonceTerms(value=_int_at(raw, 0))


# ---------------------------------------------------------------- list enforcers


@dataclass(frozen=True, slots=True)
class RedeemerTerms:
    """Only these addresses may redeem (be `msg.sender` of `redeemDelegations`)."""

    addresses: tuple[str, ...]


def redeemer(addresses: Sequence[str]) -> bytes:
    """n x 20-byte addresses (n ≥ 1)."""
    if not addresses:
        raise TermsError("at least one redeemer is required", code="invalid_terms")
    return b"".join(bytes.fromhex(_address(a, "redeemer")[2:]) for a in addresses)


def decode_redeemer(terms: bytes) -> RedeemerTerms:
    """Decode `redeemer` terms."""
    units = _units(_raw(terms, "Redeemer"), 20, "Redeemer")
    return RedeemerTerms(addresses=tuple(checksum("0x" + unit.hex()) for unit in units))


@dataclass(frozen=True, slots=True)
class AllowedTargetsTerms:
    """The execution's target must be one of ``addresses``."""

    addresses: tuple[str, ...]


def allowed_targets(addresses: Sequence[str]) -> bytes:
    """n x 20-byte addresses (n ≥ 1)."""
    if not addresses:
        raise TermsError("at least one target is required", code="invalid_terms")
    return b"".join(bytes.fromhex(_address(a, "target")[2:]) for a in addresses)


def decode_allowed_targets(terms: bytes) -> AllowedTargetsTerms:
    """Decode `allowed_targets` terms."""
    units = _units(_raw(terms, "AllowedTargets"), 20, "AllowedTargets")
    return AllowedTargetsTerms(addresses=tuple(checksum("0x" + unit.hex()) for unit in units))


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
        selectors=tuple(_units(_raw(terms, "AllowedMethods"), 4, "AllowedMethods"))
    )


# ---------------------------------------------------------------- AllowedCalldataEnforcer


@dataclass(frozen=True, slots=True)
class AllowedCalldataTerms:
    """The execution calldata must hold ``value`` at byte offset ``start_index``."""

    start_index: int
    value: bytes


def allowed_calldata(start_index: int, value: bytes) -> bytes:
    """uint256 startIndex ‖ expected bytes (at least 1, as the enforcer requires)."""
    expected = _raw(value, "AllowedCalldata value")
    if not expected:
        raise TermsError("the expected calldata value must not be empty", code="invalid_terms")
    return _word(_uint(start_index, "start_index")) + expected


def decode_allowed_calldata(terms: bytes) -> AllowedCalldataTerms:
    """Decode `allowed_calldata` terms."""
    raw = _raw(terms, "AllowedCalldata")
    if len(raw) < 33:
        raise TermsError(
            f"AllowedCalldata terms need at least 33 bytes, got {len(raw)}",
            code="invalid_terms_length",
        )
    return AllowedCalldataTerms(start_index=_int_at(raw, 0), value=raw[32:])


@dataclass(frozen=True, slots=True)
class PayeeTerms:
    """An ERC-20 `transfer` recipient lock: calldata bytes 4..36 are abi.encode(``address``)."""

    address: str


PAYEE_START_INDEX = 4
"""The recipient of `transfer(address,uint256)` starts after the 4-byte selector."""


def payee(address: str) -> bytes:
    """``allowed_calldata(4, abi.encode(address))`` — locks an ERC-20 transfer's recipient."""
    return allowed_calldata(PAYEE_START_INDEX, encode(["address"], [_address(address, "payee")]))


def decode_payee(terms: bytes) -> PayeeTerms:
    """Decode `payee` terms; any other AllowedCalldata shape raises ``TermsError(invalid_terms)``."""
    decoded = decode_allowed_calldata(terms)
    value = decoded.value
    if decoded.start_index != PAYEE_START_INDEX or len(value) != 32 or any(value[:12]):
        raise TermsError(
            "AllowedCalldata terms are not a payee lock (start index 4, abi-encoded address)",
            code="invalid_terms",
        )
    return PayeeTerms(address=_address_at(value, 12))


__all__ = [
    "PAYEE_START_INDEX",
    "AllowedCalldataTerms",
    "AllowedMethodsTerms",
    "AllowedTargetsTerms",
    "ERC20PeriodTransferTerms",
    "ERC20StreamingTerms",
    "ERC20TransferAmountTerms",
    "LimitedCallsTerms",
    "NonceTerms",
    "PayeeTerms",
    "RedeemerTerms",
    "TimestampTerms",
    "ValueLteTerms",
    "allowed_calldata",
    "allowed_methods",
    "allowed_targets",
    "decode_allowed_calldata",
    "decode_allowed_methods",
    "decode_allowed_targets",
    "decode_erc20_period_transfer",
    "decode_erc20_streaming",
    "decode_erc20_transfer_amount",
    "decode_limited_calls",
    "decode_nonce",
    "decode_payee",
    "decode_redeemer",
    "decode_timestamp",
    "decode_value_lte",
    "erc20_period_transfer",
    "erc20_streaming",
    "erc20_transfer_amount",
    "limited_calls",
    "nonce",
    "payee",
    "redeemer",
    "timestamp",
    "value_lte",
]
