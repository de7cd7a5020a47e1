"""ECDSA signing and recovery of delegations (EOA keys and EIP-7702 accounts).

An EIP-7702 account (EIP7702StatelessDeleGator) accepts a delegation when ecrecover over the
EIP-712 digest equals the account itself, so the account's own key signs. A HybridDeleGator checks
its owner's key instead; recovery then yields the owner, not the delegator.
"""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import SignableMessage

from cyphera.delegation._values import as_bytes, checksum
from cyphera.delegation.errors import SignatureError
from cyphera.delegation.hashing import domain_separator, hash_delegation
from cyphera.delegation.structs import Delegation

# OpenZeppelin's ECDSA (used by the manager and by the DeleGators' ERC-1271 check) rejects
# signatures with s in the upper half of the curve order, so we never produce or accept them.
_SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def _signable(delegation: Delegation, *, chain_id: int, delegation_manager: str) -> SignableMessage:
    # EIP-712 as eth-account models it: version 0x01, header = domain separator, body = struct hash.
    return SignableMessage(
        version=b"\x01",
        header=domain_separator(chain_id=chain_id, delegation_manager=delegation_manager),
        body=hash_delegation(delegation),
    )


def check_signature_shape(signature: bytes) -> None:
    """Raise `SignatureError` unless `signature` is 65 bytes r‖s‖v, v in {27, 28}, low s."""
    if len(signature) != 65:
        raise SignatureError(
            f"signature must be 65 bytes r‖s‖v, got {len(signature)}",
            code="invalid_signature_length",
        )
    if signature[64] not in (27, 28):
        raise SignatureError(
            f"signature v must be 27 or 28, got {signature[64]}", code="invalid_signature_v"
        )
    if int.from_bytes(signature[32:64], "big") > _SECP256K1_HALF_N:
        raise SignatureError(
            "signature s is in the upper half of the curve order", code="invalid_signature_s"
        )


def sign_delegation(
    delegation: Delegation,
    private_key: bytes | str,
    *,
    chain_id: int,
    delegation_manager: str,
) -> Delegation:
    """A copy of `delegation` signed with `private_key`: 65 bytes r‖s‖v, v = 27 or 28.

    `private_key` is 32 raw bytes or a 0x-hex string.
    """
    signed = Account.sign_message(
        _signable(delegation, chain_id=chain_id, delegation_manager=delegation_manager), private_key
    )
    signature = bytes(signed.signature)
    check_signature_shape(signature)
    return delegation.with_signature(signature)


def recover_delegation_signer(
    delegation: Delegation,
    *,
    chain_id: int,
    delegation_manager: str,
    signature: bytes | None = None,
) -> str:
    """The checksummed address whose key produced the delegation's signature (or `signature`)."""
    raw = as_bytes(delegation.signature if signature is None else signature, field="signature")
    check_signature_shape(raw)
    try:
        signer = Account.recover_message(
            _signable(delegation, chain_id=chain_id, delegation_manager=delegation_manager),
            signature=raw,
        )
    except Exception as exc:  # eth-keys raises several types for an r/s not on the curve
        raise SignatureError(
            f"signature does not recover: {exc}", code="invalid_signature"
        ) from exc
    return checksum(str(signer), field="signer")
