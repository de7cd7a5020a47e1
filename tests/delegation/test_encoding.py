"""Permission contexts and ERC-7579 execution encodings."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from cyphera.delegation import (
    BATCH_DEFAULT_MODE,
    ROOT_AUTHORITY,
    SINGLE_DEFAULT_MODE,
    Caveat,
    Delegation,
    EncodingError,
    Execution,
    decode_batch_execution,
    decode_permission_context,
    decode_single_execution,
    encode_batch_execution,
    encode_permission_context,
    encode_single_execution,
)

from .strategies import delegations

TOKEN = "0x" + "a0" * 20


def _root() -> Delegation:
    return Delegation(
        delegate="0x" + "12" * 20,
        delegator="0x" + "34" * 20,
        authority=ROOT_AUTHORITY,
        caveats=[Caveat(enforcer="0x" + "56" * 20, terms=b"\x01", args=b"\x02")],
        salt=1,
        signature=b"\x03" * 65,
    )


def test_modes() -> None:
    assert SINGLE_DEFAULT_MODE == bytes(32)
    assert BATCH_DEFAULT_MODE == b"\x01" + bytes(31)


def test_empty_context_is_an_empty_abi_array() -> None:
    assert encode_permission_context([]) == (32).to_bytes(32, "big") + bytes(32)
    assert decode_permission_context(encode_permission_context([])) == []


@settings(max_examples=50, database=None)
@given(chain=st.lists(delegations, max_size=3))
def test_context_round_trips(chain: list[Delegation]) -> None:
    assert decode_permission_context(encode_permission_context(chain)) == chain


@pytest.mark.parametrize(
    "mangle",
    [
        lambda ctx: ctx + bytes(32),
        lambda ctx: ctx[:-1],
        lambda ctx: b"",
        lambda ctx: b"\x00" * 31 + b"\x40" + ctx[32:],
    ],
    ids=["trailing-word", "truncated", "empty-bytes", "shifted-offset"],
)
def test_non_canonical_or_broken_contexts_are_refused(mangle: object) -> None:
    context = encode_permission_context([_root()])

    with pytest.raises(EncodingError) as info:
        decode_permission_context(mangle(context))  # type: ignore[operator]

    assert info.value.code == "malformed_context"


def test_context_with_a_dirty_address_word_is_refused() -> None:
    context = bytearray(encode_permission_context([_root()]))
    # Layout: [offset][length][offset of element 0][element 0: delegate word first...]
    element = 32 * 3
    context[element] = 0x01  # a non-zero byte in the 12 padding bytes of `delegate`

    with pytest.raises(EncodingError):
        decode_permission_context(bytes(context))


def test_single_execution_is_packed_target_value_calldata() -> None:
    data = encode_single_execution(TOKEN, 5, b"\xaa\xbb")

    assert data == bytes.fromhex("a0" * 20) + (5).to_bytes(32, "big") + b"\xaa\xbb"
    assert decode_single_execution(data) == Execution(target=TOKEN, value=5, calldata=b"\xaa\xbb")


def test_single_execution_shorter_than_52_bytes_is_refused() -> None:
    with pytest.raises(EncodingError) as info:
        decode_single_execution(bytes(51))

    assert info.value.code == "malformed_execution"


def test_batch_execution_is_an_abi_array_of_tuples() -> None:
    executions = [Execution(TOKEN, 0, b"\x01"), Execution("0x" + "b0" * 20, 7, b"")]

    data = encode_batch_execution(executions)

    assert data == encode(
        ["(address,uint256,bytes)[]"], [[(TOKEN, 0, b"\x01"), ("0x" + "b0" * 20, 7, b"")]]
    )
    assert decode_batch_execution(data) == executions
