"""Prefixed public identifiers (``prod_…``, ``price_…``, ``sub_…``), as integrators know from Stripe.

An id is a prefix, an underscore and 24 characters of base62 from the OS's CSPRNG (~143 bits), so
ids are unguessable and never reveal counts or creation order across tenants.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 24


def new_id(prefix: str) -> str:
    """A fresh id such as ``sub_3kTq…``; `prefix` is the object's short name, without underscore."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))


def has_prefix(value: str, prefix: str) -> bool:
    """Whether `value` looks like an id of kind `prefix` (shape only; existence is the DB's call)."""
    head, sep, tail = value.partition("_")
    return bool(sep) and head == prefix and 1 <= len(tail) <= 64 and tail.isalnum()
