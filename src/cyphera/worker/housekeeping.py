"""Deleting what has served its purpose: expired SIWE nonces and idempotency records.

Both tables grow with unauthenticated or client-chosen input (anyone may ask for a nonce; every
keyed POST stores its response), so a periodic purge keeps them bounded. Nothing here is read
again once expired: `cyphera.auth.sessions` refuses an expired nonce and `cyphera.api.idempotency`
ignores a record older than its replay window, so purging changes no answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.sessions import purge_expired_nonces
from cyphera.db.engine import transaction
from cyphera.kit.clock import Clock
from cyphera.models.idempotency_key import REPLAY_WINDOW, IdempotencyKey

TASK = "housekeeping.purge"

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Purged:
    siwe_nonces: int
    idempotency_keys: int


async def purge(sessionmaker: async_sessionmaker[AsyncSession], *, clock: Clock) -> Purged:
    """Delete expired nonces and idempotency records past the replay window; how many of each."""
    async with transaction(sessionmaker) as session:
        nonces = await purge_expired_nonces(session, clock=clock)
        result = await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at <= clock.now() - REPLAY_WINDOW)
        )
        keys = int(getattr(result, "rowcount", 0) or 0)
    purged = Purged(siwe_nonces=nonces, idempotency_keys=keys)
    log.info("housekeeping.purged", siwe_nonces=nonces, idempotency_keys=keys)
    return purged
