"""Strings the database can store.

PostgreSQL refuses NUL characters in ``text`` and ``jsonb``, and psycopg cannot encode lone UTF-16
surrogates (JSON allows ``"\\ud800"``). Either would surface as a server error deep in a request, so
every string that comes from a caller goes through `StorableStr` and is refused at the edge with a
4xx instead.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# In the OpenAPI document too, so clients (and the schema walk in the tests) see the rule.
STORABLE_PATTERN = r"^[^\x00]*$"


def check_storable(value: str) -> str:
    """`value` unchanged, or `ValueError` if PostgreSQL could not store it."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def check_not_blank(value: str) -> str:
    """`value` unchanged, or `ValueError` if it is only whitespace."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value


StorableStr = Annotated[
    str, StringConstraints(pattern=STORABLE_PATTERN), AfterValidator(check_storable)
]
"""A `str` that PostgreSQL can store (no NUL, no lone surrogates); its schema carries the
no-NUL ``pattern``."""
