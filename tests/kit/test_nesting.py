from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyphera.kit.nesting import NESTING_SLACK, exceeds_nesting

LIMIT = 50


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _nested(depth: int, *, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ab'),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=3), children, max_size=3)
    ),
    max_leaves=200,
)


def _wrap(value: Any, containers: list[str]) -> Any:
    for container in containers:
        value = [value, "]"] if container == "list" else {"k[": value, "}": 1}
    return value


@given(
    json_values,
    st.lists(st.sampled_from(["list", "dict"]), max_size=2 * LIMIT),
    st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-32"]),
)
@settings(max_examples=300, deadline=None)
def test_agrees_with_the_real_depth_of_any_json(
    inner: Any, containers: list[str], encoding: str
) -> None:
    value = _wrap(inner, containers)
    body = json.dumps(value, ensure_ascii=False).encode(encoding)
    depth = _depth(value)

    result = exceeds_nesting(body, LIMIT)

    if depth > LIMIT:
        assert result is True
    if depth <= LIMIT - NESTING_SLACK:
        assert result is False


@pytest.mark.parametrize("depth", [1, LIMIT - NESTING_SLACK, LIMIT])
def test_a_plain_nesting_up_to_the_limit_passes(depth: int) -> None:
    assert exceeds_nesting(_nested(depth).encode(), LIMIT) is False


@pytest.mark.parametrize(
    "body",
    [
        _nested(LIMIT + 1).encode(),
        ('{"a":' * (LIMIT + 1) + "1" + "}" * (LIMIT + 1)).encode(),
        b"[" * (LIMIT + 1),  # never closed: a parser has recursed before it finds the end
        b"[" * 200_000 + b"]" * 200_000,
        _nested(LIMIT + 1).encode("utf-16-le"),
        _nested(LIMIT + 1).encode("utf-16-be"),
        _nested(LIMIT + 1).encode("utf-32"),
        b"\xef\xbb\xbf" + _nested(LIMIT + 1).encode(),  # UTF-8 with a byte-order mark
        ('["a\\"b", ' + _nested(LIMIT + 1) + "]").encode(),
        b"not json at all [" + b"[" * LIMIT,  # labels and syntax prove nothing
    ],
)
def test_deeper_than_the_limit_is_found_in_any_encoding(body: bytes) -> None:
    assert exceeds_nesting(body, LIMIT) is True


@pytest.mark.parametrize(
    "body",
    [
        b"[]" * 500_000,  # wide, not deep
        json.dumps({"items": [[1, 2]] * 100_000}).encode(),
        json.dumps({"text": "[" * 10_000}).encode(),  # brackets inside a string are text
        json.dumps({"text": '\\"[' * 1_000}).encode(),  # escaped quotes do not end it
        b'["unterminated string ' + b"[" * 10_000,
        b"]" + b"[" * (LIMIT + 1),  # a parser stops at the first close with nothing open
        # UTF-16 (which json.loads accepts) whose characters hold the bytes of '"' and '[':
        ('["\u225b\u5b22", ' + _nested(LIMIT - NESTING_SLACK) + "]").encode("utf-16-le"),
        # UTF-16 cut short (odd length): json.loads cannot decode it, so parses nothing
        ("[" * (LIMIT + 1)).encode("utf-16-le") + b"\x00",
    ],
)
def test_wide_bodies_and_brackets_in_strings_do_not_count(body: bytes) -> None:
    assert exceeds_nesting(body, LIMIT) is False


def test_utf16_characters_cannot_hide_brackets_from_it() -> None:
    # U+4022 is the bytes '"' '@' in UTF-16-LE: a byte scanner would think a string opened there.
    body = ('["\u4022", ' + _nested(LIMIT + 1) + "]").encode("utf-16-le")

    assert exceeds_nesting(body, LIMIT) is True


def test_a_quote_followed_by_many_escaped_quotes_is_read_in_one_pass() -> None:
    # Quadratic for a string pattern that retries from every later quote: this would not finish.
    body = b'"' + b'\\"' * 400_000 + b"[" * (LIMIT + 1)

    assert exceeds_nesting(body, LIMIT) is False
