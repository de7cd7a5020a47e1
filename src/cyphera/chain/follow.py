"""Following a chain block by block: the safe head, ranges of blocks, and a cursor per reader.

Jobs that read a network's logs (the revocation watch, reconciliation) share one shape:

* they read only up to the **safe head**, the newest block with the network's confirmation depth
  (``head - block + 1 >= confirmations``, as charges count it): a log inside the depth could still
  be reorged away, so it waits;
* in ranges of at most ``blocks_per_request`` blocks (what public RPC providers serve in one
  ``eth_getLogs``), a bounded number per run, so a long backlog is worked off over several runs;
* from a **cursor** in ``chain_cursors``: the last block applied, one row per reader and network
  (the revocation watch's key is the network key itself; others add a prefix, for example
  ``reconciliation:base``). Each range is applied in one transaction that also moves the cursor,
  after checking, under the row's lock, that no other run moved it first;
* on every network with RPC endpoints side by side (`for_each_network`): a network that fails is
  logged and skipped this run (its cursor stays), and does not hold up the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.models import Network
from cyphera.db.engine import transaction
from cyphera.exceptions import AppError, InternalError
from cyphera.kit.clock import Clock
from cyphera.models import ChainCursor

R = TypeVar("R")

log = structlog.get_logger(__name__)


class ChainCursorMismatch(InternalError):
    code = "chain_cursor_mismatch"


def safe_head(latest: int, confirmations: int) -> int:
    """The newest block with `confirmations` blocks on it (itself included)."""
    return latest - max(confirmations, 1) + 1


def block_ranges(
    first: int, last: int, *, blocks_per_request: int, limit: int | None = None
) -> Iterator[tuple[int, int]]:
    """Inclusive ranges of at most `blocks_per_request` blocks covering `first`..`last`, at most
    `limit` of them (None: all)."""
    start = first
    count = 0
    while start <= last and (limit is None or count < limit):
        end = min(start + blocks_per_request - 1, last)
        yield start, end
        start = end + 1
        count += 1


async def open_cursor(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    key: str,
    chain_id: int,
    clock: Clock,
    initial: int,
) -> int:
    """The last block of cursor `key`, made at `initial` on its first run; `ChainCursorMismatch`
    if the row follows another chain."""
    async with transaction(sessionmaker) as session:
        await session.execute(
            insert(ChainCursor)
            .values(
                network=key, chain_id=chain_id, last_block=max(initial, -1), updated_at=clock.now()
            )
            .on_conflict_do_nothing(index_elements=[ChainCursor.network])
        )
        cursor = await session.get_one(ChainCursor, key, populate_existing=True)
        if cursor.chain_id != chain_id:
            raise ChainCursorMismatch(
                f"the cursor {key!r} follows chain {cursor.chain_id}, "
                f"not {chain_id}; remove the row to start over"
            )
        return cursor.last_block


async def claim_range(session: AsyncSession, *, key: str, from_block: int) -> ChainCursor | None:
    """Cursor `key`, locked in `session`'s transaction, when it still stands just before
    `from_block`; None when another run has moved it (that run goes on from there)."""
    cursor = await session.get(ChainCursor, key, with_for_update=True)
    if cursor is None or cursor.last_block != from_block - 1:
        return None
    return cursor


async def for_each_network(
    networks: Iterable[Network], run: Callable[[Network], Awaitable[R]], *, failure_event: str
) -> list[R]:
    """`run` on each of `networks` side by side; the results of those that did not fail (a
    failure is logged as `failure_event` and skipped: the next run tries again)."""

    async def one(network: Network) -> R | None:
        try:
            return await run(network)
        except AppError as exc:
            # Our own errors carry no RPC URL (they may hold a provider's key) and no secret.
            log.warning(failure_event, network=network.key, code=exc.code, error=str(exc))
            return None
        except Exception as exc:
            log.error(failure_event, network=network.key, error=type(exc).__name__, exc_info=True)
            return None

    outcomes = await asyncio.gather(*(one(network) for network in networks))
    return [outcome for outcome in outcomes if outcome is not None]
