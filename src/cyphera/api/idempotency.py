"""``Idempotency-Key`` on POST requests, as Stripe does it.

A client that retries a POST with the same ``Idempotency-Key`` gets the first response again
(status and body, with ``Idempotent-Replayed: true``) instead of a second object. Keys are scoped
per caller (the API key, or the signed-in account for session tokens) and remembered for
`REPLAY_WINDOW`.

- The same key with a different request (method, path or body) is ``400
  idempotency_key_reused``: the client has a bug, and replaying would hide it. A body labelled
  JSON is compared as canonical JSON; any other body byte for byte.
- A second request with a key whose first request is still running is ``409
  idempotency_key_in_use``, at once, rather than waiting or running twice.

How it stays exactly-once: the whole request runs in one database transaction
(`cyphera.api.transaction`). Its first statement takes a transaction-scoped advisory lock on
(API key, key) with ``pg_try_advisory_xact_lock`` (not waiting: that is the 409), then looks for a
stored response; the response is stored in the same transaction as the request's changes and both
commit together, which also releases the lock. So a stored response always describes committed
work, and work that rolled back (any error) leaves no record: the retry simply runs again.
Only successful responses are stored, since errors change nothing. Stored bodies are sealed
(AES-GCM, `cyphera.kit.sealing`), since some hold a secret shown once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.api.middleware import MAX_NESTING_DEPTH
from cyphera.exceptions import Conflict, InvalidRequest
from cyphera.kit.nesting import exceeds_nesting
from cyphera.kit.sealing import Sealer, Unsealable
from cyphera.models.idempotency_key import REPLAY_WINDOW, IdempotencyKey

MAX_KEY_LENGTH = 255
# First half of the two-int advisory lock key: keeps these locks apart from any other user of
# advisory locks in the database (procrastinate, future code).
_LOCK_NAMESPACE = 0x1DE7


class IdempotencyKeyInvalid(InvalidRequest):
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"


class IdempotencyKeyUnreadable(Conflict):
    code = "idempotency_key_unreadable"


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    principal_id: str
    key: str
    method: str
    path: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    request_id: str


def idempotent_request(
    *,
    principal_id: str,
    key: str,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None = None,
) -> IdempotentRequest:
    """Describe a keyed request; `IdempotencyKeyInvalid` if the key is not 1 to 255 visible ASCII characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise IdempotencyKeyInvalid(
            f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} visible ASCII characters "
            "(a UUID is a good choice)."
        )
    return IdempotentRequest(
        principal_id=principal_id,
        key=key,
        method=method,
        path=path,
        fingerprint=fingerprint(method, path, body, is_json=is_json_media_type(content_type)),
    )


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` declares JSON (``application/json``, ``application/*+json``),
    the rule FastAPI uses to decide whether to parse a body."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def fingerprint(method: str, path: str, body: bytes, *, is_json: bool = False) -> str:
    """SHA-256 over the method, the path and the body: as canonical JSON when the request says
    it is JSON, else the bytes as they came.

    Canonical so that a client library that reorders keys or whitespace on retry is still sending
    "the same request". Only a body labelled JSON is parsed, and only once its nesting is known
    to be bounded (`cyphera.kit.nesting`): this ran ``json.loads`` on every body once, and a
    ``text/plain`` body of 200,000 ``[`` killed the process.
    """
    canonical = _canonical_json(body) if is_json else body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode("utf-8", "surrogatepass"), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _canonical_json(body: bytes) -> bytes:
    if exceeds_nesting(body, MAX_NESTING_DEPTH):
        return body
    try:
        return json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return body


_PURPOSE = b"cyphera.idempotency.response.v1"


class ResponseSealer:
    """Seals stored responses at rest: some carry a secret shown once (a new API key, a webhook
    signing secret), and the replay must not leave it readable in the database for 24 hours."""

    def __init__(self, server_secret: str) -> None:
        self._sealer = Sealer(server_secret, purpose=_PURPOSE)

    def seal(self, request: IdempotentRequest, body: bytes) -> bytes:
        return self._sealer.seal(body, aad=_aad(request))

    def open(self, request: IdempotentRequest, blob: bytes) -> bytes | None:
        """The stored body, or None when it does not open (the server's key changed)."""
        try:
            return self._sealer.open(blob, aad=_aad(request))
        except Unsealable:
            return None


def _aad(request: IdempotentRequest) -> bytes:
    return f"{request.principal_id}\x00{request.key}".encode()


async def begin(
    session: AsyncSession, request: IdempotentRequest, *, now: datetime, sealer: ResponseSealer
) -> StoredResponse | None:
    """Lock `request`'s key for this transaction; the response to replay, or None to proceed.

    Raises `IdempotencyKeyInUse` when another transaction holds the key, `IdempotencyKeyReused`
    when the key was first used for a different request.
    """
    locked = await session.scalar(
        select(
            func.pg_try_advisory_xact_lock(
                cast(_LOCK_NAMESPACE, Integer), cast(_lock_key(request), Integer)
            )
        )
    )
    if not locked:
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still in progress; retry once it is done."
        )
    stored = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.principal_id == request.principal_id,
            IdempotencyKey.key == request.key,
            IdempotencyKey.created_at > now - REPLAY_WINDOW,
        )
    )
    if stored is None:
        return None
    if stored.request_fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with different parameters "
            f"({stored.request_method} {stored.request_path}); use a new key for a new request."
        )
    body = sealer.open(request, stored.response_body)
    if body is None:
        # Sealed under a key this server no longer has: run the request as a new one would be
        # wrong (it may have created something), so say so.
        raise IdempotencyKeyUnreadable(
            "The stored response to this Idempotency-Key cannot be read after a key change; "
            "check the object's state, then retry with a new key."
        )
    return StoredResponse(status=stored.response_status, body=body, request_id=stored.request_id)


async def record(
    session: AsyncSession,
    request: IdempotentRequest,
    *,
    status: int,
    body: bytes,
    request_id: str,
    now: datetime,
    sealer: ResponseSealer,
) -> None:
    """Store the response to `request` (sealed), replacing an expired record of the same key."""
    values = {
        "request_method": request.method,
        "request_path": request.path,
        "request_fingerprint": request.fingerprint,
        "request_id": request_id,
        "response_status": status,
        "response_body": sealer.seal(request, body),
        "created_at": now,
    }
    await session.execute(
        insert(IdempotencyKey)
        .values(principal_id=request.principal_id, key=request.key, **values)
        .on_conflict_do_update(
            index_elements=[IdempotencyKey.principal_id, IdempotencyKey.key], set_=values
        )
    )


def _lock_key(request: IdempotentRequest) -> int:
    digest = hashlib.sha256(f"{request.principal_id}\x00{request.key}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)
