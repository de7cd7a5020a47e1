"""Reconciliation: the books equal the chain, per network, at the confirmation depth.

For a range of blocks up to the safe head (`cyphera.chain.follow`), the transfers made through our
delegations (`cyphera.reconciliation.onchain`: the rule is written there) are compared with our
payments on that network whose transaction is in the range, or that we record as succeeded in a
block of the range (`cyphera.reconciliation.compare`). A succeeded payment with no transfer there
is settled by its receipt: not on chain, reverted, still inside the confirmation depth, or without
the transfer is a ``missing_transfer``; the transfer in another block (a recorded block number that
is off) still matches; a transfer of another amount is an ``amount_mismatch``.

Every difference is an alarm and nothing is corrected: a row in ``reconciliation_findings`` (one
per difference, however often it is found), a ``reconciliation.mismatch`` event for the workspace
when we know whose books differ, ``cyphera_reconciliation_findings_total{network,kind}`` and an
error log line (``reconciliation.mismatch``) — the last two once, when it is first found. Payments
and invoices are never changed here.

The periodic job (`reconcile_all`) follows each network from a cursor (``chain_cursors`` row
``reconciliation:<network>``), range by range, each range's findings and cursor in one
transaction; on a network it never read it starts at the block of the network's first payment
(the safe head when there is none). An operator's `reconcile` reads any range the same way and
records what it finds, without moving the cursor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from eth_utils.address import to_checksum_address
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.follow import block_ranges, claim_range, for_each_network, open_cursor, safe_head
from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry
from cyphera.chain.rpc import ChainRpc
from cyphera.db.engine import transaction
from cyphera.event import service as events
from cyphera.kit.clock import Clock, to_unix
from cyphera.models import ReconciliationFinding
from cyphera.models.mixins import Mode
from cyphera.models.payment import IN_FLIGHT
from cyphera.reconciliation import onchain
from cyphera.reconciliation import repository as repo
from cyphera.reconciliation.compare import (
    Booked,
    Difference,
    amount_mismatch,
    compare,
    fingerprint,
    missing,
)
from cyphera.reconciliation.errors import ReconciliationRangeInvalid
from cyphera.reconciliation.metrics import FINDINGS

TASK = "reconciliation.run"
EVENT = "reconciliation.mismatch"
CURSOR_PREFIX = "reconciliation:"
BLOCKS_PER_REQUEST = 2_000
REQUESTS_PER_RUN = 20

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Scope:
    """What may carry our money on a network (lower case): tokens, recipients, redeemers."""

    tokens: frozenset[str]
    recipients: frozenset[str]
    redeemers: frozenset[str]


@dataclass(frozen=True, slots=True)
class Found:
    finding: ReconciliationFinding
    is_new: bool


@dataclass(slots=True)
class Report:
    """What reconciling blocks ``from_block``..``to_block`` of a network saw (no block when
    ``to_block`` is None): transfers through our delegations, payments compared, how many of those
    matched, and the findings."""

    network: str
    safe_head: int | None = None
    from_block: int | None = None
    to_block: int | None = None
    transfers: int = 0
    payments: int = 0
    matched: int = 0
    findings: list[Found] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.findings

    def add(self, part: Report) -> None:
        if self.from_block is None:
            self.from_block = part.from_block
        self.to_block = part.to_block
        self.transfers += part.transfers
        self.payments += part.payments
        self.matched += part.matched
        self.findings += part.findings


async def load_scope(session: AsyncSession, network: Network) -> Scope:
    return Scope(
        tokens=frozenset(
            {t.address.lower() for t in network.tokens.values()}
            | await repo.permission_tokens(session, chain_id=network.chain_id)
        ),
        recipients=frozenset(
            await repo.recipients(session, network=network.key, chain_id=network.chain_id)
        ),
        redeemers=frozenset(await repo.redeemers(session, chain_id=network.chain_id)),
    )


async def reconcile_range(
    sessionmaker: async_sessionmaker[AsyncSession],
    rpc: ChainRpc,
    network: Network,
    *,
    scope: Scope,
    from_block: int,
    to_block: int,
    head: int,
    clock: Clock,
    cursor_key: str | None = None,
) -> Report | None:
    """Reconcile blocks `from_block`..`to_block` (all at or below the safe head `head`) and record
    the findings in one transaction, moving cursor `cursor_key` to `to_block` when given (None
    when another run moved it first: nothing is recorded)."""
    transfers = await onchain.transfers_through(
        rpc,
        network,
        from_block=from_block,
        to_block=to_block,
        tokens=scope.tokens,
        recipients=scope.recipients,
        redeemers=scope.redeemers,
    )
    async with sessionmaker() as session:
        books = await repo.booked(
            session,
            network=network.key,
            tx_hashes={t.tx_hash for t in transfers},
            from_block=from_block,
            to_block=to_block,
        )
    comparison = compare(transfers, books)
    taken = {t.key for _, t in comparison.matched} | {
        d.transfer.key for d in comparison.differences if d.transfer is not None
    }
    differences = list(comparison.differences)
    matched = len(comparison.matched)
    for booked in comparison.unresolved:
        difference = await _settle(rpc, network, booked, head=head, scope=scope, taken=taken)
        if difference is None:
            matched += 1
        else:
            differences.append(difference)
    async with transaction(sessionmaker) as session:
        if cursor_key is not None:
            cursor = await claim_range(session, key=cursor_key, from_block=from_block)
            if cursor is None:
                return None  # another run reconciled this range first; it goes on from there
            cursor.last_block = to_block
            cursor.updated_at = clock.now()
        found = [await _record(session, network, d, at=clock.now()) for d in differences]
    _alarm(network, found)
    return Report(
        network=network.key,
        safe_head=head,
        from_block=from_block,
        to_block=to_block,
        transfers=len(transfers),
        payments=len(
            {b.payment_id for b in books if b.tx_hash is not None or b.status not in IN_FLIGHT}
            | {b.payment_id for b, _ in comparison.matched}
        ),
        matched=matched,
        findings=found,
    )


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    rpc: ChainRpc,
    network: Network,
    *,
    from_block: int,
    to_block: int | None,
    clock: Clock,
    blocks_per_request: int = BLOCKS_PER_REQUEST,
    on_range: Callable[[Report], None] | None = None,
) -> Report:
    """An operator's reconciliation of `from_block`..`to_block` (default and at most: the safe
    head), in ranges of `blocks_per_request`, `on_range` called after each; the cursor stays."""
    head = safe_head(await rpc.block_number(network.chain_id), network.confirmations)
    last = head if to_block is None else min(to_block, head)
    if from_block > head:
        raise ReconciliationRangeInvalid(
            f"block {from_block} is after the safe head {head}, the newest block of "
            f"{network.key} with {network.confirmations} confirmation(s)",
            param="since",
        )
    if from_block > last:
        raise ReconciliationRangeInvalid(
            f"the range is empty: {from_block} is after {last}", param="until"
        )
    async with sessionmaker() as session:
        scope = await load_scope(session, network)
    return await _reconcile_ranges(
        sessionmaker,
        rpc,
        network,
        block_ranges(from_block, last, blocks_per_request=blocks_per_request),
        scope=scope,
        head=head,
        clock=clock,
        on_range=on_range,
    )


async def reconcile_network(
    sessionmaker: async_sessionmaker[AsyncSession],
    rpc: ChainRpc,
    network: Network,
    *,
    clock: Clock,
    blocks_per_request: int = BLOCKS_PER_REQUEST,
    requests_per_run: int = REQUESTS_PER_RUN,
) -> Report:
    """The periodic run on one network: from its cursor up to the safe head, bounded per run."""
    if not rpc.urls(network.chain_id):
        return Report(network=network.key)
    head = safe_head(await rpc.block_number(network.chain_id), network.confirmations)
    key = CURSOR_PREFIX + network.key
    async with sessionmaker() as session:
        first = await repo.first_payment_block(session, network=network.key)
        scope = await load_scope(session, network)
    last = await open_cursor(
        sessionmaker,
        key=key,
        chain_id=network.chain_id,
        clock=clock,
        initial=head if first is None else min(first - 1, head),
    )
    report = await _reconcile_ranges(
        sessionmaker,
        rpc,
        network,
        block_ranges(last + 1, head, blocks_per_request=blocks_per_request, limit=requests_per_run),
        scope=scope,
        head=head,
        clock=clock,
        cursor_key=key,
    )
    if report.to_block is not None:
        log.info(
            "reconciliation.ran",
            network=network.key,
            from_block=report.from_block,
            to_block=report.to_block,
            safe_head=head,
            transfers=report.transfers,
            payments=report.payments,
            matched=report.matched,
            findings=len(report.findings),
        )
    return report


async def _reconcile_ranges(
    sessionmaker: async_sessionmaker[AsyncSession],
    rpc: ChainRpc,
    network: Network,
    ranges: Iterable[tuple[int, int]],
    *,
    scope: Scope,
    head: int,
    clock: Clock,
    cursor_key: str | None = None,
    on_range: Callable[[Report], None] | None = None,
) -> Report:
    report = Report(network=network.key, safe_head=head)
    for start, end in ranges:
        part = await reconcile_range(
            sessionmaker,
            rpc,
            network,
            scope=scope,
            from_block=start,
            to_block=end,
            head=head,
            clock=clock,
            cursor_key=cursor_key,
        )
        if part is None:
            break
        report.add(part)
        if on_range is not None:
            on_range(part)
    return report


async def reconcile_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: NetworkRegistry,
    *,
    clock: Clock,
    rpc: ChainRpc | None = None,
) -> list[Report]:
    """`reconcile_network` on every network with RPC endpoints, side by side (one failing is
    logged and tried again next run; the others go on)."""
    reader = rpc or ChainRpc(registry)
    networks = [n for n in registry if reader.urls(n.chain_id)]
    return await for_each_network(
        networks,
        functools.partial(reconcile_network, sessionmaker, reader, clock=clock),
        failure_event="reconciliation.network_failed",
    )


async def first_block_at(rpc: ChainRpc, network: Network, at: datetime) -> int:
    """The first block whose timestamp is at or after `at` (a binary search on block times)."""
    wanted = to_unix(at)
    low, high = 0, await rpc.block_number(network.chain_id)
    if await rpc.block_timestamp(network.chain_id, high) < wanted:
        raise ReconciliationRangeInvalid(
            f"no block of {network.key} is at or after {at.isoformat()} yet "
            f"(the newest is block {high})",
            param="since",
        )
    while low < high:
        middle = (low + high) // 2
        if await rpc.block_timestamp(network.chain_id, middle) < wanted:
            low = middle + 1
        else:
            high = middle
    return low


async def _settle(
    rpc: ChainRpc,
    network: Network,
    booked: Booked,
    *,
    head: int,
    scope: Scope,
    taken: Collection[tuple[str, int]],
) -> Difference | None:
    """What the receipt says of a succeeded payment whose transfer the range did not hold: None
    when its transfer is there after all (at the depth, in another block than recorded)."""
    if booked.tx_hash is None:
        return missing(booked, "it records no transaction")
    receipt = await rpc.transaction_receipt(network.chain_id, booked.tx_hash)
    if receipt is None:
        return missing(booked, f"transaction {booked.tx_hash} is not on chain")
    if not receipt.is_success:
        return missing(booked, f"transaction {booked.tx_hash} reverted")
    if receipt.block_number > head:
        return missing(
            booked,
            f"transaction {booked.tx_hash} is in block {receipt.block_number}, inside the "
            f"confirmation depth (safe head {head})",
        )
    manager = network.framework.delegation_manager
    redeemed = onchain.redemptions(receipt.logs, manager=manager, redeemers=scope.redeemers)
    theirs = [
        t
        for t in onchain.through(
            receipt.logs, redeemed, tokens={booked.token}, recipients={booked.payee}
        )
        if t.sender == booked.payer
    ]
    candidates = [t for t in theirs if t.key not in taken]
    if any(t.amount == booked.amount for t in candidates):
        log.warning(
            "reconciliation.block_differs",
            network=network.key,
            payment_id=booked.payment_id,
            recorded_block=booked.block_number,
            block=receipt.block_number,
        )
        return None
    if candidates:
        return amount_mismatch(booked, candidates[0])
    if theirs:
        return missing(
            booked,
            f"the transfer of transaction {booked.tx_hash} is already accounted for by another "
            "payment (one transfer recorded twice)",
        )
    return missing(
        booked,
        f"transaction {booked.tx_hash} moved no {booked.token} from {booked.payer} to "
        f"{booked.payee} through our delegations",
    )


async def _record(
    session: AsyncSession, network: Network, difference: Difference, *, at: datetime
) -> Found:
    booked, transfer = difference.booked, difference.transfer
    owner: tuple[str, Mode] | None
    if booked is not None:
        owner = (booked.workspace_id, booked.mode)
    else:
        assert transfer is not None  # a difference names a payment, a transfer or both
        owner = await repo.owner(
            session,
            network=network.key,
            chain_id=network.chain_id,
            payer=transfer.sender,
            payee=transfer.recipient,
        )
    finding, is_new = await repo.record_finding(
        session,
        values={
            "network": network.key,
            "chain_id": network.chain_id,
            "kind": difference.kind,
            "fingerprint": fingerprint(difference),
            **_facts(difference),
            "workspace_id": owner[0] if owner else None,
            "mode": owner[1] if owner else None,
            "detail": difference.detail[:500],
        },
        at=at,
    )
    if is_new and finding.workspace_id is not None and finding.mode is not None:
        await events.record(
            session,
            workspace_id=finding.workspace_id,
            mode=finding.mode,
            type="reconciliation.mismatch",
            object_id=finding.id,
            data=event_data(finding),
        )
    return Found(finding, is_new)


def _facts(difference: Difference) -> dict[str, object]:
    """The transaction, parties (checksummed, as payments store them) and amounts of a
    difference: the transfer's when there is one."""
    booked, transfer = difference.booked, difference.transfer
    if transfer is not None:
        facts: dict[str, object] = {
            "tx_hash": transfer.tx_hash,
            "log_index": transfer.log_index,
            "block_number": transfer.block_number,
            "token_address": to_checksum_address(transfer.token),
            "from_address": to_checksum_address(transfer.sender),
            "to_address": to_checksum_address(transfer.recipient),
            "amount_seen": transfer.amount,
        }
    else:
        assert booked is not None  # a difference names a payment, a transfer or both
        facts = {
            "tx_hash": booked.tx_hash,
            "log_index": None,
            "block_number": booked.block_number,
            "token_address": to_checksum_address(booked.token),
            "from_address": to_checksum_address(booked.payer),
            "to_address": to_checksum_address(booked.payee),
            "amount_seen": None,
        }
    return {
        **facts,
        "amount_expected": booked.amount if booked else None,
        "payment_id": booked.payment_id if booked else None,
        "invoice_id": booked.invoice_id if booked else None,
    }


def event_data(finding: ReconciliationFinding) -> dict[str, object]:
    """A finding as the ``reconciliation.mismatch`` event (and the log line) carry it."""
    return {
        "finding": finding.id,
        "network": finding.network,
        "kind": finding.kind.value,
        "tx_hash": finding.tx_hash,
        "log_index": finding.log_index,
        "block_number": finding.block_number,
        "token": finding.token_address,
        "from": finding.from_address,
        "to": finding.to_address,
        "amount_expected": None
        if finding.amount_expected is None
        else str(finding.amount_expected),
        "amount_seen": None if finding.amount_seen is None else str(finding.amount_seen),
        "payment": finding.payment_id,
        "invoice": finding.invoice_id,
        "detail": finding.detail,
    }


def _alarm(network: Network, found: list[Found]) -> None:
    """After the commit: count and log each finding (the counter only the first time)."""
    for item in found:
        finding = item.finding
        if item.is_new:
            FINDINGS.labels(network=network.key, kind=finding.kind.value).inc()
            log.error(
                EVENT,
                workspace_id=finding.workspace_id,
                mode=finding.mode.value if finding.mode else None,
                **event_data(finding),
            )
        else:
            log.warning(
                "reconciliation.mismatch_seen_again",
                finding=finding.id,
                network=finding.network,
                kind=finding.kind.value,
                times_seen=finding.times_seen,
            )
