"""Caveat terms builders and strict decoders (Python side; JS parity is in test_conformance)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from cyphera.delegation import TermsError, terms

from .strategies import addresses, positive_uint256

TOKEN = "0x" + "a0" * 20


@pytest.mark.parametrize(
    ("decoder", "bad"),
    [
        (terms.decode_erc20_period_transfer, bytes(115)),
        (terms.decode_erc20_period_transfer, bytes(117)),
        (terms.decode_erc20_transfer_amount, bytes(51)),
        (terms.decode_erc20_streaming, bytes(147)),
        (terms.decode_timestamp, bytes(31)),
        (terms.decode_timestamp, bytes(33)),
        (terms.decode_limited_calls, bytes(64)),
        (terms.decode_value_lte, b""),
        (terms.decode_nonce, bytes(31)),
        (terms.decode_redeemer, b""),
        (terms.decode_redeemer, bytes(21)),
        (terms.decode_allowed_targets, bytes(39)),
        (terms.decode_allowed_methods, bytes(5)),
        (terms.decode_allowed_methods, b""),
        (terms.decode_allowed_calldata, bytes(32)),
    ],
)
def test_decoders_refuse_wrong_lengths(decoder: Callable[[bytes], Any], bad: bytes) -> None:
    with pytest.raises(TermsError) as info:
        decoder(bad)

    assert info.value.code == "invalid_terms_length"


@pytest.mark.parametrize(
    "build",
    [
        lambda: terms.erc20_period_transfer(TOKEN, 0, 1, 1),
        lambda: terms.erc20_period_transfer(TOKEN, 1, 0, 1),
        lambda: terms.erc20_period_transfer(TOKEN, 1, 1, 0),
        lambda: terms.erc20_period_transfer(TOKEN, 2**256, 1, 1),
        lambda: terms.erc20_transfer_amount(TOKEN, 0),
        lambda: terms.erc20_streaming(TOKEN, 5, 4, 1, 1),
        lambda: terms.erc20_streaming(TOKEN, 0, 1, 0, 1),
        lambda: terms.timestamp(0, 2**128),
        lambda: terms.timestamp(-1, 0),
        lambda: terms.timestamp(10, 10),
        lambda: terms.limited_calls(0),
        lambda: terms.value_lte(2**256),
        lambda: terms.nonce(-1),
        lambda: terms.allowed_calldata(2**256, b"\x01"),
    ],
)
def test_builders_refuse_out_of_range_values(build: Callable[[], bytes]) -> None:
    with pytest.raises(TermsError) as info:
        build()

    assert info.value.code == "value_out_of_range"


@pytest.mark.parametrize(
    "build",
    [
        lambda: terms.redeemer([]),
        lambda: terms.allowed_targets([]),
        lambda: terms.allowed_methods([]),
        lambda: terms.allowed_methods([b"\x01\x02\x03"]),
        lambda: terms.allowed_methods(["0x1234"]),
        lambda: terms.allowed_calldata(4, b""),
        lambda: terms.timestamp(True, 0),
    ],
)
def test_builders_refuse_malformed_input(build: Callable[[], bytes]) -> None:
    with pytest.raises(TermsError):
        build()


def test_builders_refuse_bad_addresses() -> None:
    with pytest.raises(TermsError) as info:
        terms.erc20_transfer_amount("0x1234", 1)

    assert info.value.code == "invalid_address"


def test_decoders_refuse_zero_values_the_enforcer_would_reject() -> None:
    zero_amount = (
        bytes.fromhex("a0" * 20) + bytes(32) + (1).to_bytes(32, "big") + (1).to_bytes(32, "big")
    )
    after_not_before = (10).to_bytes(16, "big") + (5).to_bytes(16, "big")

    with pytest.raises(TermsError):
        terms.decode_erc20_period_transfer(zero_amount)
    with pytest.raises(TermsError):
        terms.decode_timestamp(after_not_before)


def test_period_transfer_layout() -> None:
    built = terms.erc20_period_transfer(TOKEN, 10_000_000, 2_592_000, 1_800_000_000)

    assert built == (
        bytes.fromhex("a0" * 20)
        + (10_000_000).to_bytes(32, "big")
        + (2_592_000).to_bytes(32, "big")
        + (1_800_000_000).to_bytes(32, "big")
    )
    assert terms.decode_erc20_period_transfer(built) == terms.ERC20PeriodTransferTerms(
        token=to_checksum_address(TOKEN),
        period_amount=10_000_000,
        period_duration=2_592_000,
        start_date=1_800_000_000,
    )


def test_payee_is_allowed_calldata_at_4_with_the_abi_encoded_address() -> None:
    payee = "0x" + "b1" * 20

    built = terms.payee(payee)

    assert built == terms.allowed_calldata(4, encode(["address"], [payee]))
    assert built == (4).to_bytes(32, "big") + bytes(12) + bytes.fromhex("b1" * 20)
    assert terms.decode_payee(built).address.lower() == payee


@pytest.mark.parametrize(
    "not_a_payee_lock",
    [
        terms.allowed_calldata(36, encode(["address"], ["0x" + "b1" * 20])),
        terms.allowed_calldata(4, bytes.fromhex("b1" * 20)),
        terms.allowed_calldata(4, b"\x01" + bytes(11) + bytes.fromhex("b1" * 20)),
    ],
    ids=["wrong-index", "packed-20-bytes", "dirty-padding"],
)
def test_decode_payee_refuses_other_calldata_locks(not_a_payee_lock: bytes) -> None:
    with pytest.raises(TermsError) as info:
        terms.decode_payee(not_a_payee_lock)

    assert info.value.code == "invalid_terms"


def test_allowed_methods_accepts_signatures_and_hex() -> None:
    built = terms.allowed_methods(["transfer(address, uint256)", "0x095ea7b3", b"\x12\x34\x56\x78"])

    assert built == bytes.fromhex("a9059cbb095ea7b312345678")


@settings(max_examples=60, database=None)
@given(
    token=addresses,
    amount=positive_uint256,
    duration=positive_uint256,
    start=positive_uint256,
    after=st.integers(0, 2**128 - 1),
)
def test_build_decode_build_is_identity(
    token: str, amount: int, duration: int, start: int, after: int
) -> None:
    period = terms.erc20_period_transfer(token, amount, duration, start)
    window = terms.timestamp(after, 0)

    decoded = terms.decode_erc20_period_transfer(period)
    decoded_window = terms.decode_timestamp(window)

    assert (
        terms.erc20_period_transfer(
            decoded.token, decoded.period_amount, decoded.period_duration, decoded.start_date
        )
        == period
    )
    assert terms.timestamp(decoded_window.after, decoded_window.before) == window
