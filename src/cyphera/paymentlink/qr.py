"""A payment link's QR code: an SVG of its URL, drawn on the server by segno (no script needed)."""

from __future__ import annotations

import io
from typing import Any

import segno

# Four pixels a module and the standard four-module quiet zone: sharp when printed or scaled.
SVG_OPTIONS: dict[str, Any] = {"kind": "svg", "scale": 4, "border": 4, "xmldecl": True}


def qr_svg(url: str, *, title: str | None = None) -> bytes:
    """The QR code of `url` as an SVG document (always a full QR code, never a Micro QR)."""
    out = io.BytesIO()
    segno.make(url, micro=False).save(out, title=title, **SVG_OPTIONS)
    return out.getvalue()
