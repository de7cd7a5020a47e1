"""Reconciliation's SQL: what may have been paid on a network, our payments in a range of blocks,
whose books a transfer belongs to, and the findings (recorded once per difference)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.kit.ids import new_id
from cyphera.models import Payment, PayoutAddress, Permission, ReconciliationFinding
from cyphera.models.mixins import Mode
from cyphera.models.payment import IN_FLIGHT, PaymentStatus
from cyphera.reconciliation.compare import Booked


async def recipients(session: AsyncSession, *, network: str, chain_id: int) -> set[str]:
    """Every address our delegations may pay on the network (lower case): the workspaces' payout
    addresses there, and every permission's payee (a payout address changed since stays one)."""
    payouts = await session.scalars(
        select(PayoutAddress.address).where(PayoutAddress.network == network)
    )
    payees = await session.scalars(
        select(Permission.payee).where(Permission.chain_id == chain_id).distinct()
    )
    return {a.lower() for a in [*payouts.all(), *payees.all()]}


async def redeemers(session: AsyncSession, *, chain_id: int) -> set[str]:
    """The delegates of our permissions on the chain: every relayer we redeem with (lower case)."""
    found = await session.scalars(
        select(Permission.delegate).where(Permission.chain_id == chain_id).distinct()
    )
    return {a.lower() for a in found.all()}


async def permission_tokens(session: AsyncSession, *, chain_id: int) -> set[str]:
    """Every token our permissions on the chain move (lower case)."""
    found = await session.scalars(
        select(Permission.token_address).where(Permission.chain_id == chain_id).distinct()
    )
    return {a.lower() for a in found.all()}


async def first_payment_block(session: AsyncSession, *, network: str) -> int | None:
    """The lowest block any of the network's payments was confirmed in."""
    return await session.scalar(
        select(func.min(Payment.block_number)).where(Payment.network == network)
    )


async def booked(
    session: AsyncSession,
    *,
    network: str,
    tx_hashes: Collection[str],
    from_block: int,
    to_block: int,
) -> list[Booked]:
    """The network's payments whose transaction is one of `tx_hashes` (any status), those
    recorded as succeeded in a block of `from_block`..`to_block`, and, when there are
    transactions, those in flight with no transaction recorded yet (at most one per invoice)."""
    in_range = and_(
        Payment.status == PaymentStatus.SUCCEEDED,
        Payment.block_number.between(from_block, to_block),
    )
    unsent = and_(Payment.status.in_(IN_FLIGHT), Payment.tx_hash.is_(None))
    condition = (
        or_(Payment.tx_hash.in_(sorted(tx_hashes)), in_range, unsent) if tx_hashes else in_range
    )
    rows = await session.execute(
        select(Payment, Permission.account)
        .join(Permission, Permission.id == Payment.permission_id)
        .where(Payment.network == network, condition)
        .order_by(Payment.id)
    )
    return [
        Booked(
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            workspace_id=payment.workspace_id,
            mode=payment.mode,
            status=payment.status,
            tx_hash=payment.tx_hash.lower() if payment.tx_hash else None,
            block_number=payment.block_number,
            token=payment.token_address.lower(),
            payer=account.lower(),
            payee=payment.payee.lower(),
            amount=payment.amount,
        )
        for payment, account in rows.all()
    ]


async def owner(
    session: AsyncSession, *, network: str, chain_id: int, payer: str, payee: str
) -> tuple[str, Mode] | None:
    """The one workspace (and mode) a transfer from `payer` to `payee` belongs to: the
    permissions between them, else the payout address; None when none or several claim it."""
    by_permission = await session.execute(
        select(Permission.workspace_id, Permission.mode)
        .where(
            Permission.chain_id == chain_id,
            func.lower(Permission.account) == payer.lower(),
            func.lower(Permission.payee) == payee.lower(),
        )
        .distinct()
    )
    found = by_permission.all()
    if not found:
        by_payout = await session.execute(
            select(PayoutAddress.workspace_id, PayoutAddress.mode)
            .where(
                PayoutAddress.network == network,
                func.lower(PayoutAddress.address) == payee.lower(),
            )
            .distinct()
        )
        found = by_payout.all()
    if len(found) != 1:
        return None
    workspace_id, mode = found[0]
    return workspace_id, mode


async def record_finding(
    session: AsyncSession, *, values: dict[str, Any], at: datetime
) -> tuple[ReconciliationFinding, bool]:
    """The finding of `values` (keyed by network and fingerprint): inserted, or the existing one
    seen again at `at` (its facts refreshed). True when it is new."""
    statement = (
        insert(ReconciliationFinding)
        .values(id=new_id("rcf"), **values, first_seen_at=at, last_seen_at=at, times_seen=1)
        .on_conflict_do_update(
            index_elements=[ReconciliationFinding.network, ReconciliationFinding.fingerprint],
            set_={
                "last_seen_at": at,
                "times_seen": ReconciliationFinding.times_seen + 1,
                "detail": values["detail"],
                "block_number": values["block_number"],
                "amount_seen": values["amount_seen"],
            },
        )
        # xmax is 0 only in a row this statement inserted (an update leaves the old version's).
        .returning(ReconciliationFinding.id, text("xmax = 0"))
    )
    finding_id, is_new = (await session.execute(statement)).one()
    finding = await session.get_one(ReconciliationFinding, finding_id, populate_existing=True)
    return finding, bool(is_new)
