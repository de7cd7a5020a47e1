"""The signer's two tables: charges (one per idempotency key) and the transactions carrying them.

They live in the signer's database and hold no merchant data beyond what a charge needs on-chain.
A transaction row is written, with its signed bytes, *before* it is broadcast; that row is what
makes a crash at any point recoverable without ever moving funds twice.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.db.types import Uint256
from cyphera.signer.schemas import ChargeInput, ChargeStatus, FailureCode


class TxStatus(enum.StrEnum):
    """Life of one signed transaction.

    - ``signed``: persisted; it may or may not have reached a node (resume re-sends the bytes);
    - ``broadcast``: a node accepted it;
    - ``mined``: its receipt is in a block not yet at confirmation depth;
    - ``confirmed``: mined successfully at depth (still watched for reorgs for a while);
    - ``failed``: it will never execute successfully: mined and reverted, or dropped because
      its nonce was used by another transaction;
    - ``replaced``: superseded by a fee-bumped copy (the copy's ``replaces_id`` points here), or
      the sibling that lost when another copy was mined.
    """

    SIGNED = "signed"
    BROADCAST = "broadcast"
    MINED = "mined"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    REPLACED = "replaced"


IN_FLIGHT_TX = (TxStatus.SIGNED, TxStatus.BROADCAST, TxStatus.MINED)


def _enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    return Enum(enum_cls, name=name, values_callable=lambda members: [m.value for m in members])


class SignerTransaction(TimestampMixin, Base):
    """One signed transaction from a relayer on a chain.

    Among rows that are not ``replaced``, (chain, relayer, nonce) is unique: a fee bump marks the
    old row ``replaced`` in the same database transaction that inserts its successor.
    """

    __tablename__ = "signer_transactions"
    # Server-side defaults (timestamps) come back with RETURNING: no lazy load after a flush.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy API
    __table_args__ = (
        Index(
            "uq_signer_transactions_live_nonce",
            "chain_id",
            "relayer",
            "nonce",
            unique=True,
            postgresql_where=text("status <> 'replaced'"),
        ),
        Index(
            "ix_signer_transactions_in_flight",
            "chain_id",
            "relayer",
            postgresql_where=text("status IN ('signed', 'broadcast', 'mined')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    relayer: Mapped[str] = mapped_column(String(42), nullable=False)
    nonce: Mapped[int] = mapped_column(BigInteger, nullable=False)
    to_address: Mapped[str] = mapped_column(String(42), nullable=False)
    calldata: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    gas_limit: Mapped[int] = mapped_column(BigInteger, nullable=False)
    max_fee_per_gas: Mapped[int] = mapped_column(Uint256, nullable=False)
    max_priority_fee_per_gas: Mapped[int] = mapped_column(Uint256, nullable=False)
    raw_transaction: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    status: Mapped[TxStatus] = mapped_column(_enum(TxStatus, "signer_tx_status"), nullable=False)
    replaces_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("signer_transactions.id"), nullable=True
    )
    broadcast_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    receipt_block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    receipt_block_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    receipt_gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    receipt_status: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    broadcast_at: Mapped[datetime | None] = mapped_column(nullable=True)
    mined_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SignerCharge(TimestampMixin, Base):
    """One charge, keyed by the caller's idempotency key.

    ``transaction_id`` is the transaction currently carrying it (a batch transaction carries many);
    it is cleared when that transaction is dropped and the charge must be sent again.
    ``attempts`` counts the transactions that have carried it. ``failure_code`` on a ``pending``
    charge is the retryable reason it is still waiting (``chain_unavailable``, ...).
    """

    __tablename__ = "signer_charges"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy API
    __table_args__ = (
        Index(
            "ix_signer_charges_pending",
            "chain_id",
            "relayer",
            postgresql_where=text("status = 'pending' AND transaction_id IS NULL"),
        ),
    )

    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    relayer: Mapped[str] = mapped_column(String(42), nullable=False)
    permission_context: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    token: Mapped[str] = mapped_column(String(42), nullable=False)
    payee: Mapped[str] = mapped_column(String(42), nullable=False)
    amount: Mapped[int] = mapped_column(Uint256, nullable=False)
    delegator: Mapped[str | None] = mapped_column(String(42), nullable=True)
    delegation_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    status: Mapped[ChargeStatus] = mapped_column(
        _enum(ChargeStatus, "signer_charge_status"), nullable=False
    )
    failure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("signer_transactions.id"), index=True, nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finalized_at: Mapped[datetime | None] = mapped_column(nullable=True)

    def as_input(self) -> ChargeInput:
        """The request this charge was made from (to re-check policy before each attempt)."""
        return ChargeInput(
            idempotency_key=self.idempotency_key,
            chain_id=self.chain_id,
            permission_context=self.permission_context,
            token=self.token,
            payee=self.payee,
            amount=self.amount,
        )

    def fail(self, code: FailureCode, message: str, *, at: datetime) -> None:
        """Mark the charge failed for good: only for outcomes proven to have moved no funds.

        A charge failed by a mined, reverted transaction keeps its link to it (callers see the
        transaction hash); one refused before signing has none.
        """
        self.status = ChargeStatus.FAILED
        self.failure_code = code.value
        self.failure_message = message[:500]
        self.finalized_at = at

    def note_retryable(self, code: FailureCode, message: str) -> None:
        """Record why a pending charge is still waiting (it stays pending)."""
        self.failure_code = code.value
        self.failure_message = message[:500]
