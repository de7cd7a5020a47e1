"""Column types the domain needs beyond SQLAlchemy's defaults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class Uint256(TypeDecorator[int]):
    """An on-chain integer (token base units, wei): NUMERIC(78,0) in PostgreSQL, `int` in Python.

    BIGINT would overflow at ~9.2 tokens of an 18-decimal token; NUMERIC(78,0) holds any uint256.
    """

    impl = Numeric(78, 0)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**256:
            raise ValueError(f"not a uint256: {value!r}")
        return Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)
