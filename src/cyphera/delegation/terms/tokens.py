"""Terms of the ERC-20 spending enforcers: period transfer, lifetime amount, streaming."""

from __future__ import annotations

from dataclasses import dataclass

from cyphera.delegation.errors import TermsError
from cyphera.delegation.terms._codec import (
    address_at,
    expect_length,
    int_at,
    raw_terms,
    valid_address,
    valid_uint,
    word,
)

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
        bytes.fromhex(valid_address(token, "token")[2:])
        + word(valid_uint(period_amount, "period_amount", minimum=1))
        + word(valid_uint(period_duration, "period_duration", minimum=1))
        + word(valid_uint(start_date, "start_date", minimum=1))
    )


def decode_erc20_period_transfer(terms: bytes) -> ERC20PeriodTransferTerms:
    """Decode `erc20_period_transfer` terms."""
    raw = raw_terms(terms, "ERC20PeriodTransfer")
    expect_length(raw, 116, "ERC20PeriodTransfer")
    decoded = ERC20PeriodTransferTerms(
        token=address_at(raw, 0),
        period_amount=int_at(raw, 20),
        period_duration=int_at(raw, 52),
        start_date=int_at(raw, 84),
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
    return bytes.fromhex(valid_address(token, "token")[2:]) + word(
        valid_uint(max_amount, "max_amount", minimum=1)
    )


def decode_erc20_transfer_amount(terms: bytes) -> ERC20TransferAmountTerms:
    """Decode `erc20_transfer_amount` terms."""
    raw = raw_terms(terms, "ERC20TransferAmount")
    expect_length(raw, 52, "ERC20TransferAmount")
    decoded = ERC20TransferAmountTerms(token=address_at(raw, 0), max_amount=int_at(raw, 20))
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
    initial = valid_uint(initial_amount, "initial_amount")
    maximum = valid_uint(max_amount, "max_amount", minimum=1)
    if maximum < initial:
        raise TermsError("max_amount must be at least initial_amount", code="value_out_of_range")
    return (
        bytes.fromhex(valid_address(token, "token")[2:])
        + word(initial)
        + word(maximum)
        + word(valid_uint(amount_per_second, "amount_per_second", minimum=1))
        + word(valid_uint(start_time, "start_time", minimum=1))
    )


def decode_erc20_streaming(terms: bytes) -> ERC20StreamingTerms:
    """Decode `erc20_streaming` terms."""
    raw = raw_terms(terms, "ERC20Streaming")
    expect_length(raw, 148, "ERC20Streaming")
    decoded = ERC20StreamingTerms(
        token=address_at(raw, 0),
        initial_amount=int_at(raw, 20),
        max_amount=int_at(raw, 52),
        amount_per_second=int_at(raw, 84),
        start_time=int_at(raw, 116),
    )
    erc20_streaming(
        decoded.token,
        decoded.initial_amount,
        decoded.max_amount,
        decoded.amount_per_second,
        decoded.start_time,
    )
    return decoded
