"""Time, always timezone-aware UTC, always injectable.

Services take a `Clock` instead of calling ``datetime.now``: production uses `SystemClock`, tests use
`FrozenClock`, and a test-mode subscription attached to a test clock reads that clock's time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        self._at += delta
        return self._at

    def set(self, at: datetime) -> None:
        self._at = ensure_utc(at)


def ensure_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is a bug, so it is refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    return value.astimezone(UTC)


def to_unix(value: datetime) -> int:
    """Whole seconds since the epoch (what the chain's `block.timestamp` counts)."""
    return int(ensure_utc(value).timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


system_clock = SystemClock()
