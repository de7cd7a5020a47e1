"""The relayer key: loaded once at start-up, used only to sign transactions, never shown.

`RelayerKey` keeps the eth-account `LocalAccount` private and exposes the address and a
`sign_transaction` method. Its repr shows the address only, and loading errors never quote the
key, the password or the keystore's content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from cyphera.signer.config import SignerSettings
from cyphera.signer.errors import SignerConfigInvalid


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A signed transaction: the exact bytes to broadcast and their hash (0x-hex)."""

    raw: bytes
    tx_hash: str


class RelayerKey:
    """One relayer account. The key stays inside; only signatures come out."""

    __slots__ = ("_account",)

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def from_private_key(cls, private_key: str | bytes) -> RelayerKey:
        """A key from 32 raw bytes or 0x-hex. The error never echoes the input."""
        try:
            account: LocalAccount = Account.from_key(private_key)
        except Exception:
            raise SignerConfigInvalid(
                "the relayer private key is not a valid secp256k1 key"
            ) from None
        return cls(account)

    @classmethod
    def from_keystore(cls, keystore: dict[str, Any], password: str) -> RelayerKey:
        """Decrypt an Ethereum JSON keystore (scrypt or pbkdf2), as geth and eth-account write."""
        try:
            private_key = Account.decrypt(keystore, password)
        except Exception:
            # eth-account's messages are safe, but a wrong password and a corrupt file look the
            # same to an attacker probing start-up errors, so neither is detailed.
            raise SignerConfigInvalid(
                "cannot decrypt the relayer keystore: wrong password or not a keystore file"
            ) from None
        return cls.from_private_key(bytes(private_key))

    @property
    def address(self) -> str:
        """The checksummed relayer address."""
        return str(self._account.address)

    def sign_transaction(self, transaction: dict[str, Any]) -> SignedTransaction:
        """Sign an EIP-1559 transaction dict (eth-account field names)."""
        signed = self._account.sign_transaction(transaction)
        return SignedTransaction(
            raw=bytes(signed.raw_transaction), tx_hash="0x" + bytes(signed.hash).hex()
        )

    def __repr__(self) -> str:
        return f"RelayerKey(address={self.address})"

    def __reduce__(self) -> Any:
        raise TypeError("a RelayerKey cannot be pickled")


def load_relayer_key(settings: SignerSettings) -> RelayerKey:
    """The relayer key the settings point at; `SignerConfigInvalid` when there is none."""
    if settings.relayer_private_key is not None:
        return RelayerKey.from_private_key(settings.relayer_private_key.get_secret_value())
    if settings.relayer_keystore_path is not None:
        path = settings.relayer_keystore_path
        try:
            keystore = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SignerConfigInvalid(
                f"cannot read the relayer keystore {path} ({type(exc).__name__})"
            ) from None
        if not isinstance(keystore, dict):
            raise SignerConfigInvalid(f"the relayer keystore {path} is not a JSON object")
        password = settings.relayer_keystore_password
        return RelayerKey.from_keystore(keystore, password.get_secret_value() if password else "")
    raise SignerConfigInvalid(
        "no relayer key: set CYPHERA_SIGNER_RELAYER_PRIVATE_KEY or "
        "CYPHERA_SIGNER_RELAYER_KEYSTORE_PATH and CYPHERA_SIGNER_RELAYER_KEYSTORE_PASSWORD"
    )
