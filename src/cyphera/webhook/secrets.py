"""Webhook signing secrets: made, and kept encrypted at rest.

A signing secret is ``whsec_`` + 33 random bytes in standard base64 (44 characters, no padding
needed): the Standard Webhooks format, which its reference verifiers (``standardwebhooks``,
Svix's libraries, in every language) decode with the standard alphabet. The delivery worker
needs the plaintext to sign each delivery (HMAC), so the secret cannot be hashed like an API key;
it is encrypted instead, with AES-256-GCM (`cyphera.kit.sealing`):

- the key is derived from the server's ``CYPHERA_ENCRYPTION_KEY`` with HKDF-SHA256 and a fixed
  context string, so the derived key is used for this one purpose only;
- each ciphertext is ``version (1 byte) || nonce (12) || ciphertext || tag (16)``, with a fresh
  random nonce each time;
- the endpoint's id is the associated data: a ciphertext copied onto another endpoint's row does
  not decrypt there.

A database dump alone therefore reveals no signing secret. Changing the server secret makes every
stored secret unreadable (`SecretUndecryptable`): rotate the endpoints' secrets afterwards.
"""

from __future__ import annotations

import base64
import secrets

from cyphera.exceptions import InternalError
from cyphera.kit.sealing import Sealer, Unsealable

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 33  # a multiple of 3: base64 without padding
_KEY_CONTEXT = b"cyphera.webhook_endpoint.secret.v1"


class SecretUndecryptable(InternalError):
    """A stored signing secret does not decrypt: the server secret changed, or the row was edited."""

    code = "webhook_secret_undecryptable"


def new_signing_secret() -> str:
    """A fresh signing secret, ``whsec_…`` (33 random bytes, standard base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    """Encrypts and decrypts signing secrets under a key derived from the server secret."""

    def __init__(self, server_secret: str) -> None:
        self._sealer = Sealer(server_secret, purpose=_KEY_CONTEXT)

    def encrypt(self, secret: str, *, endpoint_id: str) -> bytes:
        return self._sealer.seal(secret.encode(), aad=endpoint_id.encode())

    def decrypt(self, blob: bytes, *, endpoint_id: str) -> str:
        """The secret in `blob`; `SecretUndecryptable` if it is not ours or was tampered with."""
        try:
            return self._sealer.open(blob, aad=endpoint_id.encode()).decode()
        except Unsealable:
            raise SecretUndecryptable(
                f"the signing secret of {endpoint_id} does not decrypt with this server's key"
            ) from None
