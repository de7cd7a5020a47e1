"""The API key format: ``sk_test_<32 base62>``, ``sk_live_…``, and read-only ``rk_test_…`` / ``rk_live_…``.

32 base62 characters from the OS's CSPRNG are ~190 bits, so a key cannot be guessed and an
unsalted SHA-256 is enough to store it: there is nothing to brute-force. Only the hash is stored;
the plaintext is shown once, when the key is created. Lookups are by hash through a unique index,
so no comparison of secrets happens in Python at all (nothing to time).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass

from cyphera.models.api_key import ApiKeyKind
from cyphera.models.mixins import Mode

_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 32
_PREFIX_BY_KIND = {ApiKeyKind.SECRET: "sk", ApiKeyKind.RESTRICTED: "rk"}
_KIND_BY_PREFIX = {prefix: kind for kind, prefix in _PREFIX_BY_KIND.items()}
_FORMAT = re.compile(rf"(sk|rk)_(test|live)_([A-Za-z0-9]{{{SECRET_LENGTH}}})")
# How much of a key stays visible in listings: the type, the mode and 4 random characters.
_REDACTED_RANDOM_CHARS = 4


@dataclass(frozen=True, slots=True)
class KeyShape:
    """What a key's prefix says about it (the stored row has the final word)."""

    kind: ApiKeyKind
    mode: Mode


def generate_secret(kind: ApiKeyKind, mode: Mode) -> str:
    """A fresh plaintext key such as ``sk_test_…``."""
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
    return f"{_PREFIX_BY_KIND[kind]}_{mode.value}_{random_part}"


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest stored in ``api_keys.secret_hash``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_secret(secret: str) -> KeyShape | None:
    """The kind and mode a well-formed key announces, or None if it is not one of ours."""
    match = _FORMAT.fullmatch(secret)
    if match is None:
        return None
    return KeyShape(kind=_KIND_BY_PREFIX[match.group(1)], mode=Mode(match.group(2)))


def redact(secret: str) -> str:
    """``sk_test_AbCd``: enough to tell keys apart in a listing, useless to an attacker."""
    prefix_length = secret.rindex("_") + 1
    return secret[: prefix_length + _REDACTED_RANDOM_CHARS]
