"""EIP-712 hashing, typed data and signatures."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from cyphera.delegation import (
    ANY_DELEGATE,
    CAVEAT_TYPEHASH,
    DELEGATION_TYPEHASH,
    ROOT_AUTHORITY,
    Caveat,
    Delegation,
    EncodingError,
    SignatureError,
    delegation_digest,
    domain_separator,
    hash_delegation,
    recover_delegation_signer,
    sign_delegation,
    typed_data,
)

MANAGER = "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3"
KEY = "0x" + "4c" * 32
SIGNER = Account.from_key(KEY)
CHAIN_ID = 8453
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _delegation(**changes: object) -> Delegation:
    base = Delegation(
        delegate="0x" + "12" * 20,
        delegator=SIGNER.address,
        authority=ROOT_AUTHORITY,
        caveats=[Caveat(enforcer="0x" + "34" * 20, terms=b"\x01\x02", args=b"")],
        salt=42,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_typehashes_are_the_documented_constants() -> None:
    assert (
        DELEGATION_TYPEHASH.hex()
        == "88c1d2ecf185adf710588203a5f263f0ff61be0d33da39792cde19ba9aa4331e"
    )
    assert (
        CAVEAT_TYPEHASH.hex() == "80ad7e1b04ee6d994a125f4714ca0720908bd80ed16063ec8aee4b88e9253e2d"
    )


def test_root_authority_and_any_delegate() -> None:
    assert ROOT_AUTHORITY == b"\xff" * 32
    assert ANY_DELEGATE == "0x0000000000000000000000000000000000000a11"


def test_signature_and_caveat_args_are_not_hashed() -> None:
    delegation = _delegation()
    with_args = _delegation(
        caveats=[Caveat(enforcer="0x" + "34" * 20, terms=b"\x01\x02", args=b"x")]
    )

    assert hash_delegation(delegation.with_signature(b"\x01" * 65)) == hash_delegation(delegation)
    assert hash_delegation(with_args) == hash_delegation(delegation)
    assert hash_delegation(_delegation(salt=43)) != hash_delegation(delegation)


def test_typed_data_digest_equals_delegation_digest() -> None:
    delegation = _delegation(salt=2**256 - 1)
    payload = typed_data(delegation, chain_id=CHAIN_ID, delegation_manager=MANAGER.lower())

    message = encode_typed_data(full_message=payload)

    assert payload["primaryType"] == "Delegation"
    assert payload["domain"] == {
        "name": "DelegationManager",
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": MANAGER,
    }
    assert payload["message"]["salt"] == str(2**256 - 1)
    assert payload["message"]["caveats"] == [{"enforcer": "0x" + "34" * 20, "terms": "0x0102"}]
    assert message.header == domain_separator(chain_id=CHAIN_ID, delegation_manager=MANAGER)
    assert message.body == hash_delegation(delegation)
    assert keccak(b"\x19\x01" + message.header + message.body) == delegation_digest(
        delegation, chain_id=CHAIN_ID, delegation_manager=MANAGER
    )


def test_wallet_signature_over_typed_data_recovers_to_the_signer() -> None:
    delegation = _delegation()
    payload = typed_data(delegation, chain_id=CHAIN_ID, delegation_manager=MANAGER)

    signed = Account.sign_message(encode_typed_data(full_message=payload), KEY)
    recovered = recover_delegation_signer(
        delegation.with_signature(bytes(signed.signature)),
        chain_id=CHAIN_ID,
        delegation_manager=MANAGER,
    )

    assert recovered == SIGNER.address


def test_sign_delegation_returns_a_signed_copy() -> None:
    delegation = _delegation()

    signed = sign_delegation(delegation, KEY, chain_id=CHAIN_ID, delegation_manager=MANAGER)

    assert delegation.signature == b""
    assert len(signed.signature) == 65
    assert signed.signature[64] in (27, 28)
    assert replace(signed, signature=b"") == delegation
    assert (
        recover_delegation_signer(signed, chain_id=CHAIN_ID, delegation_manager=MANAGER)
        == SIGNER.address
    )


def test_signature_is_bound_to_chain_and_manager() -> None:
    signed = sign_delegation(_delegation(), KEY, chain_id=CHAIN_ID, delegation_manager=MANAGER)

    other_chain = recover_delegation_signer(signed, chain_id=1, delegation_manager=MANAGER)
    other_manager = recover_delegation_signer(
        signed, chain_id=CHAIN_ID, delegation_manager="0x" + "99" * 20
    )

    assert other_chain != SIGNER.address
    assert other_manager != SIGNER.address


def _high_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:64], "big")
    v = 55 - signature[64]  # flipping s flips the recovery parity: 27 <-> 28
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v])


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda sig: sig[:64], "invalid_signature_length"),
        (lambda sig: sig[:64] + bytes([sig[64] - 27]), "invalid_signature_v"),
        (_high_s, "invalid_signature_s"),
    ],
    ids=["64-bytes", "v-0-or-1", "high-s"],
)
def test_recover_refuses_what_openzeppelin_ecdsa_refuses(mutate: object, code: str) -> None:
    signed = sign_delegation(_delegation(), KEY, chain_id=CHAIN_ID, delegation_manager=MANAGER)
    bad = mutate(signed.signature)  # type: ignore[operator]

    with pytest.raises(SignatureError) as info:
        recover_delegation_signer(
            signed.with_signature(bad), chain_id=CHAIN_ID, delegation_manager=MANAGER
        )

    assert info.value.code == code


def test_structs_normalise_and_validate_addresses() -> None:
    lower = _delegation(delegate="0x" + "ab" * 20)

    assert lower.delegate == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    with pytest.raises(EncodingError) as info:
        _delegation(delegate="0xABaBaBaBABabABabAbAbABAbABabababaBaBABab")
    assert info.value.code == "invalid_address"
    with pytest.raises(EncodingError):
        _delegation(authority=b"\xff" * 31)
    with pytest.raises(EncodingError):
        _delegation(salt=-1)
    with pytest.raises(EncodingError):
        Caveat(enforcer="0x" + "34" * 20, terms="0x0102")  # type: ignore[arg-type]
