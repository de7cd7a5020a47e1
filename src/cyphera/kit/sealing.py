"""Encryption at rest for what must be read back in the clear (webhook signing secrets, stored
idempotent responses that carry a secret shown once).

`Sealer` is AES-256-GCM under a key derived with HKDF-SHA256 from the server's encryption key
(``CYPHERA_ENCRYPTION_KEY``) and a `purpose`, so each use has its own key. A sealed value is
``version (1 byte) || nonce (12) || ciphertext || tag (16)`` with a fresh random nonce; the
associated data (`aad`) binds it to its row, so a value copied elsewhere does not open.
"""

from __future__ import annotations

import secrets

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF

_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class Unsealable(ValueError):
    """Not sealed by this key for this aad: the key changed, or the value was edited or moved."""


class Sealer:
    def __init__(self, server_secret: str, *, purpose: bytes) -> None:
        key = HKDF(server_secret.encode(), 32, b"", SHA256, context=purpose)
        # One key asked for (num_keys=1), so HKDF returns bytes, not a tuple.
        assert isinstance(key, bytes)
        self._key: bytes = key

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG_BYTES)
        cipher.update(aad)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        return _VERSION + nonce + ciphertext + tag

    def open(self, blob: bytes, *, aad: bytes) -> bytes:
        """The plaintext of `blob`; `Unsealable` if it is not ours or was tampered with."""
        if len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES or blob[:1] != _VERSION:
            raise Unsealable("not a sealed value")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        ciphertext, tag = blob[1 + _NONCE_BYTES : -_TAG_BYTES], blob[-_TAG_BYTES:]
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG_BYTES)
        cipher.update(aad)
        try:
            return cipher.decrypt_and_verify(ciphertext, tag)
        except ValueError:
            raise Unsealable("does not open with this key") from None
