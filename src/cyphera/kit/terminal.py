"""Plain-text output of operator commands: aligned tables and UTC timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """`rows` under `header`, each column as wide as its widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def when(at: datetime) -> str:
    """`at` as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")
