"""Stripe-style ``metadata``: a flat map of string keys to string values that integrators own.

Limits are Stripe's: at most 50 keys, keys up to 40 characters, values up to 500. On update the
given keys are merged into the stored ones, and a key set to ``""`` is removed (Stripe's
convention), so an integrator can change one key without resending the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from cyphera.kit.text import StorableStr, check_not_blank

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500

MetadataKey = Annotated[
    StorableStr,
    StringConstraints(min_length=1, max_length=MAX_KEY_LENGTH),
    AfterValidator(check_not_blank),
]
MetadataValue = Annotated[StorableStr, StringConstraints(max_length=MAX_VALUE_LENGTH)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=MAX_KEYS)]
"""The request type of a ``metadata`` parameter, with Stripe's limits."""


class MetadataTooLarge(ValueError):
    """A merge would leave more than `MAX_KEYS` keys."""


def merge_metadata(current: Mapping[str, Any], update: Mapping[str, str]) -> dict[str, str]:
    """`current` with `update` applied: new values replace old ones, ``""`` removes a key.

    Raises `MetadataTooLarge` if the result would hold more than `MAX_KEYS` keys.
    """
    merged = {str(key): str(value) for key, value in current.items()}
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_KEYS:
        raise MetadataTooLarge(f"metadata can hold at most {MAX_KEYS} keys")
    return merged
