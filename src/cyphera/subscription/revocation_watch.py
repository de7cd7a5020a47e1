"""Revocations made anywhere: following ``DisabledDelegation`` logs of each network's manager.

A customer can revoke from any wallet or app by having their account call
``DelegationManager.disableDelegation``; the manager then emits
``DisabledDelegation(delegationHash, delegator, delegate, delegation)``, the hash being that of the
customer's own delegation (the root of the permission context, ``permissions.revocation_hash``).
Every minute the worker reads those logs for each network with RPC endpoints:

* from the block after the network's cursor (``chain_cursors``) up to the **safe head**, the newest
  block with the network's confirmation depth (``head - block + 1 >= confirmations``, as charges
  count it): a log inside the depth could still be reorged away, so it waits;
* in ranges of `BLOCKS_PER_REQUEST` blocks (what public RPC providers serve in one
  ``eth_getLogs``), at most `REQUESTS_PER_RUN` per run, so a long backlog is worked off over
  several runs rather than one that never ends;
* each range in **one transaction**: every active permission whose ``revocation_hash`` a log names
  is recorded revoked as of the log's block time (`revocation.record_revocation`: the
  ``permission.revoked`` event, its live subscriptions canceled with ``permission_revoked``), and
  the cursor advanced. A run that finds the cursor moved by another run stops; re-reading a range
  records nothing twice (`record_revocation` changes nothing the second time).

A network's first run starts at its safe head (history before the platform watched it is not
scanned) unless a start block is configured (``CYPHERA_CHAIN__WATCH_START_BLOCKS``). Logs of
delegations the platform does not hold are skipped, as are logs of any other contract (the filter
names the network's manager). Only the delegator's own account can disable a delegation, and its
hash binds that delegator, so a log cannot revoke someone else's permission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.follow import (
    block_ranges,
    claim_range,
    for_each_network,
    open_cursor,
    safe_head,
)
from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry
from cyphera.chain.rpc import ChainLog, ChainRpc
from cyphera.db.engine import transaction
from cyphera.delegation.errors import DelegationError
from cyphera.delegation.events import DISABLED_DELEGATION_TOPIC, decode_disabled_delegation
from cyphera.kit.clock import Clock, from_unix
from cyphera.models import Permission
from cyphera.models.permission import PermissionStatus
from cyphera.subscription.revocation import record_revocation

BLOCKS_PER_REQUEST = 2_000
REQUESTS_PER_RUN = 50
TASK = "chain.watch_revocations"

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class WatchResult:
    """What one run did on one network: blocks ``from_block``..``to_block`` applied (none when
    ``to_block`` is None), how many logs they held, the permissions recorded revoked."""

    network: str
    safe_head: int | None = None
    from_block: int | None = None
    to_block: int | None = None
    logs: int = 0
    revoked: list[str] = field(default_factory=list)


async def watch_network(
    sessionmaker: async_sessionmaker[AsyncSession],
    rpc: ChainRpc,
    network: Network,
    *,
    clock: Clock,
    start_block: int | None = None,
    blocks_per_request: int = BLOCKS_PER_REQUEST,
    requests_per_run: int = REQUESTS_PER_RUN,
) -> WatchResult:
    """Apply `network`'s ``DisabledDelegation`` logs from its cursor up to the safe head."""
    result = WatchResult(network=network.key)
    if not rpc.urls(network.chain_id):
        return result
    head = safe_head(await rpc.block_number(network.chain_id), network.confirmations)
    result.safe_head = head
    last = await open_cursor(
        sessionmaker,
        key=network.key,
        chain_id=network.chain_id,
        clock=clock,
        initial=head if start_block is None else start_block - 1,
    )
    manager = network.framework.delegation_manager
    for from_block, to_block in block_ranges(
        last + 1, head, blocks_per_request=blocks_per_request, limit=requests_per_run
    ):
        logs = await rpc.get_logs(
            network.chain_id,
            address=manager,
            topics=[DISABLED_DELEGATION_TOPIC],
            from_block=from_block,
            to_block=to_block,
        )
        disabled = _disabled(logs, manager)
        ours = await _ours(sessionmaker, network, {hash_hex for _, hash_hex in disabled})
        mine = [(block, hash_hex) for block, hash_hex in disabled if hash_hex in ours]
        times = await _block_times(rpc, network, logs, {block for block, _ in mine})
        async with transaction(sessionmaker) as session:
            cursor = await claim_range(session, key=network.key, from_block=from_block)
            if cursor is None:
                # Another run applied this range first; it goes on from there.
                break
            for block, hash_hex in mine:
                result.revoked += await _apply(
                    session, network, hash_hex, at=from_unix(times[block]), manager=manager
                )
            cursor.last_block = to_block
            cursor.updated_at = clock.now()
        if result.from_block is None:
            result.from_block = from_block
        result.to_block = to_block
        result.logs += len(disabled)
    return result


async def watch_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: NetworkRegistry,
    *,
    clock: Clock,
    rpc: ChainRpc | None = None,
    start_blocks: Mapping[str, int] | None = None,
) -> list[WatchResult]:
    """`watch_network` for every network with RPC endpoints, side by side: a network that fails
    is logged and skipped this run (its cursor stays), and does not hold up the others."""
    reader = rpc or ChainRpc(registry)
    starts = start_blocks or {}

    async def one(network: Network) -> WatchResult:
        result = await watch_network(
            sessionmaker, reader, network, clock=clock, start_block=starts.get(network.key)
        )
        if result.to_block is not None:
            log.info(
                "chain_watch.applied",
                network=network.key,
                from_block=result.from_block,
                to_block=result.to_block,
                safe_head=result.safe_head,
                logs=result.logs,
                revoked=len(result.revoked),
            )
        return result

    networks = [n for n in registry if reader.urls(n.chain_id)]
    return await for_each_network(networks, one, failure_event="chain_watch.network_failed")


def _disabled(logs: Sequence[ChainLog], manager: str) -> list[tuple[int, str]]:
    """(block, disabled delegation hash as 0x-hex) of each live ``DisabledDelegation`` log of
    `manager`, in chain order; anything else (a reorged log, another contract, a log that does
    not decode) is not ours to read."""
    disabled: list[tuple[int, str]] = []
    for entry in logs:
        if entry.removed or entry.address.lower() != manager.lower():
            continue
        try:
            event = decode_disabled_delegation(entry.topics)
        except DelegationError:
            continue
        disabled.append((entry.block_number, "0x" + event.delegation_hash.hex()))
    return disabled


async def _ours(
    sessionmaker: async_sessionmaker[AsyncSession], network: Network, hashes: set[str]
) -> set[str]:
    """Which of `hashes` name an active permission on `network` (before any block time is read:
    the manager is shared by every app on the chain, most logs are someone else's)."""
    if not hashes:
        return set()
    async with sessionmaker() as session:
        found = await session.scalars(
            select(Permission.revocation_hash).where(
                Permission.chain_id == network.chain_id,
                Permission.revocation_hash.in_(sorted(hashes)),
                Permission.status == PermissionStatus.ACTIVE,
            )
        )
        return set(found)


async def _block_times(
    rpc: ChainRpc, network: Network, logs: Sequence[ChainLog], blocks: set[int]
) -> dict[int, int]:
    """The timestamps of `blocks` (from the logs when the node includes them, else read)."""
    times = {
        e.block_number: e.block_timestamp
        for e in logs
        if e.block_number in blocks and e.block_timestamp is not None
    }
    for number in sorted(blocks - times.keys()):
        times[number] = await rpc.block_timestamp(network.chain_id, number)
    return times


async def _apply(
    session: AsyncSession, network: Network, hash_hex: str, *, at: datetime, manager: str
) -> list[str]:
    """Record revoked, as of `at`, each active permission whose customer delegation is `hash_hex`."""
    permissions = await session.scalars(
        select(Permission)
        .where(
            Permission.chain_id == network.chain_id,
            Permission.revocation_hash == hash_hex,
            Permission.status == PermissionStatus.ACTIVE,
        )
        .order_by(Permission.id)
    )
    revoked: list[str] = []
    for permission in permissions.all():
        if permission.delegation_manager.lower() != manager.lower():
            continue
        await record_revocation(session, permission_id=permission.id, at=at)
        revoked.append(permission.id)
    return revoked
