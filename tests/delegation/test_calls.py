"""Manager / enforcer / ERC-20 calldata and return data."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode, encode

from cyphera.delegation import (
    DISABLE_DELEGATION_SELECTOR,
    DISABLED_DELEGATIONS_SELECTOR,
    ENABLE_DELEGATION_SELECTOR,
    GET_AVAILABLE_AMOUNT_SELECTOR,
    GET_DELEGATION_HASH_SELECTOR,
    GET_DOMAIN_HASH_SELECTOR,
    INCREMENT_NONCE_SELECTOR,
    REDEEM_DELEGATIONS_SELECTOR,
    ROOT_AUTHORITY,
    SINGLE_DEFAULT_MODE,
    Caveat,
    Delegation,
    EncodingError,
    decode_disabled_delegations,
    decode_erc20_transfer,
    decode_get_available_amount,
    decode_get_delegation_hash,
    decode_permission_context,
    encode_disable_delegation,
    encode_disabled_delegations,
    encode_erc20_transfer,
    encode_get_available_amount,
    encode_get_delegation_hash,
    encode_get_domain_hash,
    encode_increment_nonce,
    encode_permission_context,
    encode_redeem_delegations,
    encode_single_execution,
)
from cyphera.delegation.encoding import DELEGATION_ABI

MANAGER = "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3"
TOKEN = "0x" + "a0" * 20
PAYEE = "0x" + "b1" * 20


def _delegation() -> Delegation:
    return Delegation(
        delegate="0x" + "12" * 20,
        delegator="0x" + "34" * 20,
        authority=ROOT_AUTHORITY,
        caveats=[Caveat(enforcer="0x" + "56" * 20, terms=b"\x01\x02\x03")],
        salt=9,
        signature=b"\x07" * 65,
    )


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (REDEEM_DELEGATIONS_SELECTOR, "cef6d209"),
        (DISABLE_DELEGATION_SELECTOR, "49934047"),
        (ENABLE_DELEGATION_SELECTOR, "3ed01015"),
        (GET_DELEGATION_HASH_SELECTOR, "66134607"),
        (GET_DOMAIN_HASH_SELECTOR, "83ebb771"),
        (GET_AVAILABLE_AMOUNT_SELECTOR, "6a9843f6"),
        (INCREMENT_NONCE_SELECTOR, "f5743c4c"),
        (DISABLED_DELEGATIONS_SELECTOR, "2d40d052"),
    ],
)
def test_selectors_are_the_documented_ones(selector: bytes, expected: str) -> None:
    assert selector.hex() == expected


def test_redeem_delegations_calldata_decodes_to_the_three_arrays() -> None:
    context = encode_permission_context([_delegation()])
    execution = encode_single_execution(TOKEN, 0, encode_erc20_transfer(PAYEE, 10))

    calldata = encode_redeem_delegations(
        [context, context], [SINGLE_DEFAULT_MODE] * 2, [execution] * 2
    )

    assert calldata[:4] == bytes.fromhex("cef6d209")
    contexts, modes, executions = decode(["bytes[]", "bytes32[]", "bytes[]"], calldata[4:])
    assert list(contexts) == [context, context]
    assert list(modes) == [SINGLE_DEFAULT_MODE] * 2
    assert list(executions) == [execution] * 2
    assert decode_permission_context(contexts[0]) == [_delegation()]


def test_redeem_delegations_refuses_unequal_arrays() -> None:
    with pytest.raises(EncodingError) as info:
        encode_redeem_delegations([b"\x00"], [], [b"\x00"])

    assert info.value.code == "length_mismatch"


def test_delegation_struct_calls_carry_the_full_struct() -> None:
    delegation = _delegation()

    for calldata, selector in [
        (encode_disable_delegation(delegation), "49934047"),
        (encode_get_delegation_hash(delegation), "66134607"),
    ]:
        (decoded,) = decode([DELEGATION_ABI], calldata[4:])
        assert calldata[:4].hex() == selector
        assert decoded[5] == delegation.signature
        assert decoded[3] == ((delegation.caveats[0].enforcer.lower(), b"\x01\x02\x03", b""),)


def test_get_available_amount_round_trip() -> None:
    delegation_hash = b"\x11" * 32
    terms = b"\x22" * 116

    calldata = encode_get_available_amount(delegation_hash, MANAGER, terms)
    returned = decode_get_available_amount(encode(["uint256", "bool", "uint256"], [5, True, 3]))

    assert calldata[:4].hex() == "6a9843f6"
    assert decode(["bytes32", "address", "bytes"], calldata[4:]) == (
        delegation_hash,
        MANAGER.lower(),
        terms,
    )
    assert returned == (5, True, 3)


def test_view_return_data_is_checked_strictly() -> None:
    with pytest.raises(EncodingError) as info:
        decode_get_available_amount(encode(["uint256", "uint256", "uint256"], [5, 2, 3]))
    assert info.value.code == "malformed_returndata"
    with pytest.raises(EncodingError):
        decode_get_delegation_hash(b"\x00" * 31)
    with pytest.raises(EncodingError):
        decode_disabled_delegations(b"\x00" * 64)
    assert decode_disabled_delegations(encode(["bool"], [True])) is True


def test_simple_calls() -> None:
    assert encode_get_domain_hash() == bytes.fromhex("83ebb771")
    assert encode_disabled_delegations(b"\x33" * 32) == bytes.fromhex("2d40d052") + b"\x33" * 32
    assert encode_increment_nonce(MANAGER) == bytes.fromhex("f5743c4c") + encode(
        ["address"], [MANAGER]
    )


def test_erc20_transfer_is_68_bytes_and_decodes_back() -> None:
    calldata = encode_erc20_transfer(PAYEE, 2**200)

    assert calldata[:4].hex() == "a9059cbb"
    assert len(calldata) == 68
    to, amount = decode_erc20_transfer(calldata)
    assert (to.lower(), amount) == (PAYEE, 2**200)
    with pytest.raises(EncodingError):
        decode_erc20_transfer(calldata + b"\x00")
