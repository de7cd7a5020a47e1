"""What a real ``cyphera api`` process writes to its log when requests fail: JSON lines, the
error with its traceback, and never a credential (issue #17).

The process runs on a database that exists but was never migrated: every query fails with
``UndefinedTable``, an exception nothing handles, so each request below is a real ``500`` through
the production code path, logged with its traceback while the request's credentials are in
scope (and, as SHA-256 hashes, in the failing SQL's parameters).
"""

from __future__ import annotations

import itertools
import json
import secrets
import string
from collections.abc import Iterator

import httpx
import pytest

from cyphera.auth.keys import generate_secret
from cyphera.auth.sessions import SESSION_TOKEN_LENGTH, SESSION_TOKEN_PREFIX
from cyphera.db.cluster import LocalCluster
from cyphera.invoice.page import hosted_invoice_path
from cyphera.models.api_key import ApiKeyKind
from cyphera.models.mixins import Mode
from cyphera.webhook.secrets import new_signing_secret
from cyphera.workspace.team import INVITATION_TOKEN_LENGTH, INVITATION_TOKEN_PREFIX
from tests.fixtures.process import ApiProcess

_databases = itertools.count()
_ALPHABET = string.ascii_letters + string.digits


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@pytest.fixture
def unmigrated_database_url(pg_cluster: LocalCluster) -> Iterator[str]:
    name = f"unmigrated_{next(_databases)}"
    pg_cluster.ensure_database(name)
    try:
        yield pg_cluster.url(name, driver="psycopg")
    finally:
        pg_cluster.drop_database(name)


async def test_failing_requests_are_logged_as_json_without_any_secret(
    unmigrated_database_url: str,
) -> None:
    hosted_secret = "hosted-secret-" + _random(32)
    secret = {
        "secret key": generate_secret(ApiKeyKind.SECRET, Mode.TEST),
        "restricted live key": generate_secret(ApiKeyKind.RESTRICTED, Mode.LIVE),
        "session token": SESSION_TOKEN_PREFIX + _random(SESSION_TOKEN_LENGTH),
        "invitation token": INVITATION_TOKEN_PREFIX + _random(INVITATION_TOKEN_LENGTH),
        "webhook signing secret": new_signing_secret(),
        "idempotency key": "idem-" + _random(24),
        "cookie": "cookie-" + _random(24),
        "private key": "0x" + secrets.token_hex(32),
        "signer token": "signer-token-" + _random(32),
        "encryption key": "encryption-key-" + _random(32),
        "hosted page secret": hosted_secret,
    }
    invoice_page = hosted_invoice_path("in_" + _random(24), secret=hosted_secret.encode())
    secret["hosted page token"] = invoice_page.rsplit("/", 1)[1]
    env = {
        "CYPHERA_DATABASE__URL": unmigrated_database_url,
        "CYPHERA_SIGNER__TOKEN": secret["signer token"],
        "CYPHERA_ENCRYPTION_KEY": secret["encryption key"],
        "CYPHERA_HOSTED_SECRET": hosted_secret,
    }

    with ApiProcess(env) as api:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30.0) as http:
            responses = [
                await http.get("/v1/products", headers=_bearer(secret["secret key"])),
                await http.post(
                    "/v1/products",
                    json={"name": secret["private key"]},
                    headers={
                        **_bearer(secret["restricted live key"]),
                        "Idempotency-Key": secret["idempotency key"],
                        "Cookie": f"session={secret['cookie']}",
                    },
                ),
                await http.get("/v1/account", headers=_bearer(secret["session token"])),
                await http.post(
                    "/v1/invitations/accept",
                    json={"token": secret["invitation token"]},
                    headers=_bearer(secret["session token"]),
                ),
                await http.post(
                    "/v1/webhook_endpoints",
                    json={
                        "url": "https://example.com",
                        "description": secret["webhook signing secret"],
                    },
                    headers=_bearer(secret["secret key"]),
                ),
                await http.get(invoice_page),
            ]
    lines = [line for line in api.output if line.strip()]

    assert [r.status_code for r in responses] == [500] * len(responses)
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    errors = [e for e in events if e["event"] == "api.unhandled_error"]
    assert len(errors) == len(responses)
    for error in errors:
        assert error["level"] == "error"
        assert error["request_id"].startswith("req_")
        assert error["exception"][0]["exc_type"] == "ProgrammingError"
        assert error["exception"][0]["frames"]
        assert "locals" not in error["exception"][0]["frames"][0]
    text = "".join(lines)
    assert "[REDACTED]" in text
    leaked = sorted(name for name, value in secret.items() if value in text)
    assert leaked == []


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
