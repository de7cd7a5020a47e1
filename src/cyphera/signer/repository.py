"""All the signer's SQL. Functions take the session first, never commit, return ORM rows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, String, column, func, or_, select, table, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.db.types import Uint256
from cyphera.signer.models import IN_FLIGHT_TX, SignerCharge, SignerTransaction, TxStatus
from cyphera.signer.schemas import ChargeInput, ChargeResult, ChargeStatus

# The one view of the books the signer reads (migration 0013): in-flight payments under active
# permissions. Declared here as a bare table, so the signer imports nothing of billing's models.
_owed = table(
    "signer_owed_charges",
    column("idempotency_key", String),
    column("chain_id", BigInteger),
    column("permission_context", LargeBinary),
    column("token", String),
    column("payee", String),
    column("amount", Uint256),
)


def relayer_lock_key(chain_id: int, relayer: str) -> int:
    """A stable signed 64-bit advisory-lock key for one (chain, relayer) nonce stream."""
    digest = hashlib.blake2b(f"cyphera.signer:{chain_id}:{relayer.lower()}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


async def lock_relayer(session: AsyncSession, chain_id: int, relayer: str) -> None:
    """Hold the (chain, relayer) lock until this transaction ends: one nonce writer per key,
    across every signer process sharing the database."""
    await session.execute(select(func.pg_advisory_xact_lock(relayer_lock_key(chain_id, relayer))))


async def insert_charge_if_absent(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert a charge unless its idempotency key exists (a concurrent duplicate is not an error)."""
    statement = (
        insert(SignerCharge)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[SignerCharge.idempotency_key])
    )
    await session.execute(statement)


async def get_charge(session: AsyncSession, key: str) -> SignerCharge | None:
    return await session.get(SignerCharge, key, populate_existing=True)


async def charge_results(session: AsyncSession, keys: Sequence[str]) -> dict[str, ChargeResult]:
    """The public view of charges `keys` (missing keys are absent), with their transaction."""
    rows = await session.execute(
        select(SignerCharge, SignerTransaction)
        .outerjoin(SignerTransaction, SignerCharge.transaction_id == SignerTransaction.id)
        .where(SignerCharge.idempotency_key.in_(list(keys)))
        .execution_options(populate_existing=True)
    )
    return {charge.idempotency_key: to_result(charge, tx) for charge, tx in rows}


def to_result(charge: SignerCharge, tx: SignerTransaction | None) -> ChargeResult:
    # A pending charge's transaction is not public yet: it may never be broadcast.
    visible = tx if tx is not None and charge.status is not ChargeStatus.PENDING else None
    return ChargeResult(
        idempotency_key=charge.idempotency_key,
        status=charge.status,
        chain_id=charge.chain_id,
        token=charge.token,
        payee=charge.payee,
        amount=charge.amount,
        delegation_hash=charge.delegation_hash,
        tx_hash=visible.tx_hash if visible else None,
        block_number=visible.receipt_block_number if visible else None,
        gas_used=visible.receipt_gas_used if visible else None,
        failure_code=charge.failure_code,
        failure_message=charge.failure_message,
    )


async def claim_pending(
    session: AsyncSession, chain_id: int, relayer: str, limit: int
) -> list[SignerCharge]:
    """Pending charges no transaction carries yet, oldest first, locked for this transaction."""
    rows = await session.scalars(
        select(SignerCharge)
        .where(
            SignerCharge.chain_id == chain_id,
            SignerCharge.relayer == relayer,
            SignerCharge.status == ChargeStatus.PENDING,
            SignerCharge.transaction_id.is_(None),
        )
        .order_by(SignerCharge.created_at, SignerCharge.idempotency_key)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def highest_nonce(session: AsyncSession, chain_id: int, relayer: str) -> int | None:
    """The highest nonce this relayer has ever signed on the chain (any status)."""
    result = await session.scalar(
        select(func.max(SignerTransaction.nonce)).where(
            SignerTransaction.chain_id == chain_id, SignerTransaction.relayer == relayer
        )
    )
    return None if result is None else int(result)


async def tracked_transactions(
    session: AsyncSession, chain_id: int, relayer: str, *, watch_from_block: int
) -> list[SignerTransaction]:
    """Transactions still in flight, plus confirmed ones recent enough to be reorged, by nonce."""
    rows = await session.scalars(
        select(SignerTransaction)
        .where(
            SignerTransaction.chain_id == chain_id,
            SignerTransaction.relayer == relayer,
            or_(
                SignerTransaction.status.in_(IN_FLIGHT_TX),
                (SignerTransaction.status == TxStatus.CONFIRMED)
                & (SignerTransaction.receipt_block_number >= watch_from_block),
            ),
        )
        .order_by(SignerTransaction.nonce, SignerTransaction.id)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def replaced_copies(session: AsyncSession, tx: SignerTransaction) -> list[SignerTransaction]:
    """Earlier fee-bumped copies of `tx` (same nonce, ``replaced``): any of them may be mined."""
    rows = await session.scalars(
        select(SignerTransaction)
        .where(
            SignerTransaction.chain_id == tx.chain_id,
            SignerTransaction.relayer == tx.relayer,
            SignerTransaction.nonce == tx.nonce,
            SignerTransaction.status == TxStatus.REPLACED,
            SignerTransaction.id != tx.id,
        )
        .order_by(SignerTransaction.id)
    )
    return list(rows)


async def charges_of(session: AsyncSession, tx_id: int) -> list[SignerCharge]:
    rows = await session.scalars(
        select(SignerCharge)
        .where(SignerCharge.transaction_id == tx_id)
        .order_by(SignerCharge.created_at, SignerCharge.idempotency_key)
        .with_for_update()
    )
    return list(rows)


async def move_charges(session: AsyncSession, from_tx_id: int, to_tx_id: int) -> None:
    """Point every charge carried by one copy of a transaction at another copy."""
    await session.execute(
        update(SignerCharge)
        .where(SignerCharge.transaction_id == from_tx_id)
        .values(transaction_id=to_tx_id)
    )


async def count_in_flight(session: AsyncSession, chain_id: int, relayer: str) -> int:
    result = await session.scalar(
        select(func.count())
        .select_from(SignerTransaction)
        .where(
            SignerTransaction.chain_id == chain_id,
            SignerTransaction.relayer == relayer,
            SignerTransaction.status.in_(IN_FLIGHT_TX),
        )
    )
    return int(result or 0)


async def is_owed(session: AsyncSession, charge: ChargeInput) -> bool:
    """Whether the books hold an in-flight payment under an active permission that is exactly
    `charge`: same key, chain, permission context, token, payee and amount."""
    found = await session.scalar(
        select(func.count())
        .select_from(_owed)
        .where(
            _owed.c.idempotency_key == charge.idempotency_key,
            _owed.c.chain_id == charge.chain_id,
            _owed.c.permission_context == charge.permission_context,
            func.lower(_owed.c.token) == charge.token.lower(),
            func.lower(_owed.c.payee) == charge.payee.lower(),
            _owed.c.amount == charge.amount,
        )
    )
    return bool(found)


async def gas_reserved_within(
    session: AsyncSession, chain_id: int, relayer: str, seconds: int
) -> int:
    """Gas the relayer's transactions signed in the last `seconds` may burn: their gas limits, a
    fee bump's copy not counted twice (only one of them can be mined)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(SignerTransaction.gas_limit), 0)).where(
            SignerTransaction.chain_id == chain_id,
            SignerTransaction.relayer == relayer,
            SignerTransaction.replaces_id.is_(None),
            SignerTransaction.created_at
            >= func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds),
        )
    )
    return int(total or 0)
