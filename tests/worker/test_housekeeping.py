"""The periodic purge: expired nonces and stale idempotency records go, live ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.kit.clock import FrozenClock
from cyphera.models.idempotency_key import REPLAY_WINDOW, IdempotencyKey
from cyphera.models.siwe_nonce import SiweNonce
from cyphera.worker import housekeeping
from cyphera.worker.app import create_app

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _record(key: str, created_at: datetime) -> IdempotencyKey:
    return IdempotencyKey(
        principal_id="key_owner",
        key=key,
        request_method="POST",
        request_path="/v1/products",
        request_fingerprint="0" * 64,
        request_id="req_1",
        response_status=200,
        response_body=b"{}",
        created_at=created_at,
    )


async def test_purge_deletes_only_what_can_no_longer_be_used(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Given nonces expired and live, and idempotency records inside and past the replay window
    second = timedelta(seconds=1)
    async with transaction(sessionmaker) as session:
        session.add_all(
            [
                SiweNonce(nonce="expired", created_at=NOW - 600 * second, expires_at=NOW),
                SiweNonce(nonce="live", created_at=NOW, expires_at=NOW + second),
                _record("stale", NOW - REPLAY_WINDOW),
                _record("fresh", NOW - REPLAY_WINDOW + second),
            ]
        )

    # When the purge runs twice
    first = await housekeeping.purge(sessionmaker, clock=FrozenClock(NOW))
    again = await housekeeping.purge(sessionmaker, clock=FrozenClock(NOW))

    # Then exactly the unusable rows are gone, and a second run finds nothing more
    assert first == housekeeping.Purged(siwe_nonces=1, idempotency_keys=1)
    assert again == housekeeping.Purged(siwe_nonces=0, idempotency_keys=0)
    async with sessionmaker() as session:
        assert list(await session.scalars(select(SiweNonce.nonce))) == ["live"]
        assert list(await session.scalars(select(IdempotencyKey.key))) == ["fresh"]


def test_the_purge_is_a_periodic_task_of_the_worker() -> None:
    app = create_app("postgresql://unused/unused")

    periodic = {task.periodic_id for task in app.periodic_registry.periodic_tasks.values()}
    assert housekeeping.TASK in app.tasks
    assert housekeeping.TASK in periodic
