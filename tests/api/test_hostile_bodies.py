"""No request body can end the API process, whatever it holds, however it is labelled.

Runs against a real ``cyphera api`` process (`tests.fixtures.process`): in-process, an input that
overflows the C stack would kill pytest instead of failing this test. The first of these bodies
once did exactly that (issue #17): the idempotency fingerprint ran ``json.loads`` on a ``text/plain``
body nobody had checked, under the recursion limit py_ecc raises to 100,000 at import.
"""

from __future__ import annotations

import itertools
import uuid

import httpx

from tests.fixtures.api import MakeWorkspace
from tests.fixtures.process import ApiProcess

DEEP = 200_000
HOSTILE_BODIES: dict[str, bytes] = {
    "deep arrays": b"[" * DEEP + b"]" * DEEP,
    "deep arrays in a field": b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "deep objects": b'{"a":' * 150_000 + b"1" + b"}" * 150_000,
    "deep arrays, never closed": b"[" * 1_000_000,
    # json.loads reads UTF-16 and UTF-32 bodies too (it guesses the encoding from the bytes)
    "deep arrays in UTF-16": ("[" * DEEP + "]" * DEEP).encode("utf-16-le"),
    "deep arrays in UTF-32": ("[" * 100_000 + "]" * 100_000).encode("utf-32"),
    "huge integer": b'{"name": "x", "metadata": {"n": ' + b"9" * 900_000 + b"}}",
    "huge exponent": b'{"name": 1e' + b"9" * 900_000 + b"}",
    "1 MB string": b'{"name": "' + b"x" * 1_000_000 + b'"}',
    "invalid UTF-8": b'{"name": "\xff\xfe\xc3\x28 \xed\xa0\x80"}',
    "raw NUL bytes": b'{"name": "a\x00b"}' + b"\x00" * 1000,
    "escaped NUL": b'{"name": "a\\u0000b", "description": "\\ud800"}',
}
CONTENT_TYPES: list[str | None] = [
    None,
    "application/json",
    "application/merge-patch+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
]
PATHS = ["/v1/products", "/v1/auth/siwe/verify"]


async def test_no_body_ends_the_process(database_url: str, make_workspace: MakeWorkspace) -> None:
    keys = await make_workspace()
    cases = itertools.product(HOSTILE_BODIES.items(), CONTENT_TYPES, (False, True), PATHS)
    env = {
        "CYPHERA_DATABASE__URL": database_url,
        # Hundreds of requests with one key: this test is about bodies, not rate limits.
        "CYPHERA_AUTH__API_KEY_RATE_LIMIT": "100000/second",
    }
    with ApiProcess(env) as api:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30.0) as http:
            server_errors = []
            for (name, body), content_type, keyed, path in cases:
                headers = dict(keys.headers)
                if content_type is not None:
                    headers["Content-Type"] = content_type
                if keyed:
                    headers["Idempotency-Key"] = str(uuid.uuid4())
                try:
                    response = await http.post(path, content=body, headers=headers)
                except httpx.TransportError as exc:
                    raise AssertionError(
                        f"{name!r} as {content_type} (keyed: {keyed}) to {path} ended the API "
                        f"process (exit {api.returncode}): {exc!r}\n{api.text[-3000:]}"
                    ) from exc
                if response.status_code >= 500:
                    server_errors.append((name, content_type, keyed, path, response.text))

            health = await http.get("/healthz")
            created = await http.post("/v1/products", json={"name": "Pro"}, headers=keys.headers)

        assert api.is_running()
    assert server_errors == []
    assert health.status_code == 200
    assert created.status_code == 200
