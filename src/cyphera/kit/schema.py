"""Base classes for request and response bodies of the public API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body: unknown fields refused, and no type coercion.

    ``strict``: ``"100"`` is not an amount, ``10.0`` is not an integer and ``1`` is not ``true``.
    Guessing what a caller meant is how billing systems charge the wrong amount.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


def refuse_null(value: Any) -> Any:
    """A ``mode="before"`` field validator for optional update fields that must not be ``null``.

    An update field left out means "unchanged"; sent as ``null`` it is a mistake, not a deletion.
    """
    if value is None:
        raise ValueError("must not be null (leave the parameter out to keep the current value)")
    return value
