"""How deeply a body would nest if a JSON parser read it, found without parsing it.

Recursive-descent parsers (``json.loads``, ``json.dumps`` on the way back) spend a C stack frame
per level. Under a high recursion limit (py_ecc sets 100,000 at import) a body of 200,000 ``[``
overflows the C stack and the process dies of SIGSEGV before any ``RecursionError``, so the depth
must be known *before* any parser sees the body, and must not depend on which parser, which
``Content-Type`` label or which encoding: ``json.loads`` of bytes guesses UTF-16 and UTF-32 from
the bytes themselves.

`exceeds_nesting` reads the body as ``json.loads`` would decode it, drops string literals (JSON's
own rule: ``"`` to the next unescaped ``"``, so brackets in a string never count), then measures the
brackets that are left. It is linear in the body's size, runs in C for ordinary bodies (a count of
two bytes), and stays within tens of milliseconds for a hostile megabyte. It is deliberately
conservative: it reads any body, JSON or not, as if it were JSON, and treats an unclosed ``[`` as
a level (a parser has recursed into it before it finds the body truncated).
"""

from __future__ import annotations

import json
import re

# RFC 8259 strings: in UTF-8 the bytes of '"' and '\' never occur inside a multi-byte character,
# so strings can be found in the bytes without decoding them. A string left open runs to the end
# of the body (a parser never leaves it): matching it whole, rather than failing and retrying
# from each later quote, keeps this linear (``"`` then 300,000 ``\"`` would be quadratic).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_RUNS = re.compile(rb"\[+|\]+")
# Rounds of removing innermost "[]" pairs before counting: each is one fast pass in C and
# shrinks wide bodies (long lists) to almost nothing; deep ones keep their few long runs.
_PASSES = 8
NESTING_SLACK = _PASSES
"""`exceeds_nesting` may report bodies this many levels below `limit` (never fewer above it)."""


def exceeds_nesting(body: bytes, limit: int) -> bool:
    """Whether a JSON parser reading `body` could nest deeper than `limit` levels.

    Always True when some point of the body is nested more than `limit` arrays or objects deep;
    always False when none is nested more than ``limit - NESTING_SLACK``. In between it may err
    toward True for bodies whose shape makes the exact count expensive.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # not enough brackets to nest that deep in any encoding
    encoding = json.detect_encoding(body)
    if encoding not in ("utf-8", "utf-8-sig"):
        try:
            body = body.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return False  # json.loads cannot decode it either: it parses nothing
    brackets = _STRING.sub(b"", body).translate(_SQUARE, _NOT_BRACKETS)
    # Removing an innermost "[]" leaves every other bracket at its depth, so after `passes`
    # rounds the deepest point is at most `passes` levels deeper than what remains shows.
    passes = 0
    while passes < _PASSES:
        if brackets.count(b"[") <= limit - passes:
            return False
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break
        brackets = shorter
        passes += 1
    depth = 0
    for run in _RUNS.findall(brackets):
        depth += len(run) if run[0] == ord("[") else -len(run)
        if depth > limit - passes:
            return True
        if depth < 0:
            return False  # a close with nothing open: a parser stops there
    return False
