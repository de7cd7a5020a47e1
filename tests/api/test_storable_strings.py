"""Every string a request body carries is storable, and says so in the OpenAPI document.

PostgreSQL refuses NUL in ``text`` and ``jsonb``: a string field without the rule turns a NUL into
a 500 deep in a request. This walks every request body of the served document and fails on any
string schema that does not exclude NUL: the `StorableStr` pattern, an enum or a constant, a
date-time, or a fixed shape (a pattern anchored at both ends, with no ``.`` and no negated class
that lets NUL through).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from cyphera.kit.text import STORABLE_PATTERN

_NEGATED_CLASS = re.compile(r"\[\^((?:\\.|[^\]])*)\]")
_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")


def excludes_nul(schema: dict[str, Any]) -> bool:
    if "enum" in schema or "const" in schema or schema.get("format") == "date-time":
        return True
    pattern = schema.get("pattern")
    if pattern is None:
        return False
    if pattern == STORABLE_PATTERN:
        return True
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    if _UNESCAPED_DOT.search(_NEGATED_CLASS.sub("", pattern)):
        return False
    return all("\\x00" in negated for negated in _NEGATED_CLASS.findall(pattern))


def unstorable_strings(document: dict[str, Any]) -> list[str]:
    schemas = document["components"]["schemas"]
    found: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], f"{where}<{name}>", seen | {name})
            return
        for keyword in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(keyword, []):
                walk(option, where, seen)
        if schema.get("type") == "string" and not excludes_nul(schema):
            found.append(where)
        for name, field in schema.get("properties", {}).items():
            walk(field, f"{where}.{name}", seen)
        for keyword in ("additionalProperties", "propertyNames"):
            if isinstance(schema.get(keyword), dict):
                walk(schema[keyword], f"{where}.<{keyword}>", seen)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]", seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content["schema"], f"{method.upper()} {path}", frozenset())
    return sorted(set(found))


def test_the_walk_finds_strings_that_let_nul_through() -> None:
    assert excludes_nul({"type": "string", "pattern": STORABLE_PATTERN})
    assert excludes_nul({"type": "string", "pattern": r"^0x[0-9a-fA-F]{40}$"})
    assert excludes_nul({"type": "string", "pattern": r"^https?://[^\s\x00]+$"})
    assert excludes_nul({"type": "string", "enum": ["usd"]})
    assert not excludes_nul({"type": "string", "maxLength": 40})
    assert not excludes_nul({"type": "string", "pattern": r"^https?://"})
    assert not excludes_nul({"type": "string", "pattern": r"^a.*$"})
    assert not excludes_nul({"type": "string", "pattern": r"^[^\s]+$"})


async def test_every_request_string_is_storable(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    assert unstorable_strings(document) == []
