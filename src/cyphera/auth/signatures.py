"""Signatures an account makes: ECDSA by its key, or whatever its code accepts (ERC-1271).

Shared by sign-in (`cyphera.auth.siwe`: an EIP-191 ``personal_sign`` of the message) and by
checkout (`cyphera.permission.proof`: an EIP-712 signature over a delegation). An externally owned
account, or a 7702-upgraded one signing with its own key, is recovered with eth-account; a smart
account is asked through `SignatureChecker` (``isValidSignature`` on its chain; the production one
is `cyphera.auth.chain_reader.RpcSignatureChecker`).
"""

from __future__ import annotations

import re
from typing import Protocol

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak

from cyphera.auth.errors import SiweSignatureMalformed

MAX_SIGNATURE_BYTES = 4096
ECDSA_SIGNATURE_BYTES = 65
# keccak256("isValidSignature(bytes32,bytes)")[:4], also the value a valid signature returns.
ERC1271_MAGIC_VALUE = bytes.fromhex("1626ba7e")
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})+")


class SignatureChecker(Protocol):
    """Asks an account's code whether it accepts a signature (ERC-1271), on one chain."""

    async def is_valid_signature(
        self, *, chain_id: int, account: str, digest: bytes, signature: bytes
    ) -> bool:
        """Whether `account` returns the ERC-1271 magic value for (`digest`, `signature`).

        False for an account with no code or one that refuses or reverts; `Unavailable` when the
        chain cannot be reached.
        """
        ...


def parse_signature(signature: str) -> bytes:
    """A 0x-hex signature as bytes, or `SiweSignatureMalformed`."""
    if not _HEX.fullmatch(signature) or len(signature) > 2 + 2 * MAX_SIGNATURE_BYTES:
        raise SiweSignatureMalformed(
            f"the signature is 0x followed by hex bytes (at most {MAX_SIGNATURE_BYTES})"
        )
    return bytes.fromhex(signature[2:])


def personal_message_digest(text: str) -> bytes:
    """The EIP-191 (version 0x45, ``personal_sign``) digest of `text`."""
    data = text.encode("utf-8")
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


def recover_signer(text: str, signature: bytes) -> str | None:
    """The address whose key made the ECDSA `signature` of `text`, or None if it is no such thing."""
    if len(signature) != ECDSA_SIGNATURE_BYTES:
        return None
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except (BadSignature, ValueError, TypeError):
        # eth-keys refuses a point off the curve, or out-of-range r, s or v, with these.
        return None
