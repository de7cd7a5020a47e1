"""API keys: issuing, listing and revoking them, and turning a presented key into an `AuthContext`."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from cyphera.auth.context import AuthContext
from cyphera.auth.errors import ApiKeyInvalid, ApiKeyMissing, ApiKeyRevoked
from cyphera.auth.keys import generate_secret, hash_secret, parse_secret, redact
from cyphera.auth.repository import ApiKeyRepository
from cyphera.auth.scope import Scope
from cyphera.exceptions import NotFound
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models.api_key import ApiKey, ApiKeyKind
from cyphera.models.mixins import Mode

API_KEY_ID_PREFIX = "key"
# `last_used_at` is for humans ("used 3 minutes ago"); writing it on every request would turn
# every read into a write on one hot row.
LAST_USED_RESOLUTION = timedelta(minutes=1)

log = structlog.get_logger(__name__)


class IssuedApiKey(NamedTuple):
    api_key: ApiKey
    secret: str
    """The plaintext key: returned this once, never stored, never logged."""


async def authenticate(session: AsyncSession, *, secret: str | None, clock: Clock) -> AuthContext:
    """The caller behind `secret`, or an `Unauthenticated` error saying what is wrong.

    Records the key's use (at most once per `LAST_USED_RESOLUTION`).
    """
    if not secret:
        raise ApiKeyMissing(
            "No API key provided. Send it as `Authorization: Bearer sk_test_…`; "
            "`cyphera workspace create` prints one."
        )
    shape = parse_secret(secret)
    if shape is None:
        raise ApiKeyInvalid("Invalid API key provided.")
    repository = ApiKeyRepository(session)
    api_key = await repository.get_by_secret_hash(hash_secret(secret))
    # The prefix is part of the hashed secret, so a stored key always agrees with its prefix;
    # checking anyway keeps a corrupted row from widening what a key may do.
    if api_key is None or api_key.mode is not shape.mode or api_key.kind is not shape.kind:
        raise ApiKeyInvalid("Invalid API key provided.")
    if api_key.revoked_at is not None:
        raise ApiKeyRevoked(
            f"The API key {api_key.redacted}… was revoked; use another key of this workspace."
        )
    now = clock.now()
    if api_key.last_used_at is None or api_key.last_used_at <= now - LAST_USED_RESOLUTION:
        # Most requests find a use recorded moments ago: no statement for them at all.
        await repository.touch(api_key.id, at=now, resolution=LAST_USED_RESOLUTION)
    return AuthContext(
        workspace_id=api_key.workspace_id,
        mode=api_key.mode,
        api_key_id=api_key.id,
        is_read_only=api_key.kind is ApiKeyKind.RESTRICTED,
    )


async def issue_api_key(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    name: str,
    clock: Clock,
    kind: ApiKeyKind = ApiKeyKind.SECRET,
) -> IssuedApiKey:
    """Create a key for `workspace_id` in `mode`; the plaintext is in the result, and nowhere else."""
    secret = generate_secret(kind, mode)
    now = clock.now()
    api_key = ApiKey(
        id=new_id(API_KEY_ID_PREFIX),
        workspace_id=workspace_id,
        mode=mode,
        kind=kind,
        name=name,
        redacted=redact(secret),
        secret_hash=hash_secret(secret),
        created_at=now,
        updated_at=now,
    )
    ApiKeyRepository(session).add(api_key)
    await session.flush()
    log.info("api_key.created", api_key_id=api_key.id, workspace_id=workspace_id, mode=mode.value)
    return IssuedApiKey(api_key=api_key, secret=secret)


async def list_api_keys(session: AsyncSession, *, scope: Scope, page: PageRequest) -> Page[ApiKey]:
    """The keys of the scope's workspace and mode, newest first (revoked ones included)."""
    return await ApiKeyRepository(session).list(scope, page=page)


async def get_api_key(session: AsyncSession, *, scope: Scope, api_key_id: str) -> ApiKey:
    """One key of the scope, or `NotFound`."""
    api_key = None
    if has_prefix(api_key_id, API_KEY_ID_PREFIX):
        api_key = await ApiKeyRepository(session).get(scope, api_key_id)
    if api_key is None:
        raise NotFound(f"No such API key: {api_key_id!r}", param="id")
    return api_key


async def revoke_api_key(
    session: AsyncSession, *, scope: Scope, api_key_id: str, clock: Clock
) -> ApiKey:
    """Revoke a key of the scope; revoking a revoked key changes nothing."""
    api_key = await get_api_key(session, scope=scope, api_key_id=api_key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        api_key.updated_at = api_key.revoked_at
        flag_modified(api_key, "updated_at")
        await session.flush()
        log.info("api_key.revoked", api_key_id=api_key.id, workspace_id=api_key.workspace_id)
    return api_key


async def find_api_key_id(session: AsyncSession, *, secret: str | None) -> str | None:
    """The id of the usable key `secret`, or None, without raising or recording a use.

    For state kept per API key outside authentication (idempotency keys): a bad key simply has
    none, and authentication proper reports what is wrong with it.
    """
    if not secret or parse_secret(secret) is None:
        return None
    api_key = await ApiKeyRepository(session).get_by_secret_hash(hash_secret(secret))
    if api_key is None or api_key.revoked_at is not None:
        return None
    return api_key.id
