from __future__ import annotations

import enum

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.db.types import Uint256
from cyphera.models.mixins import TenantMixin, str_enum


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # recorded, not yet handed to the signer (or outcome not yet known)
    SUBMITTED = "submitted"  # the signer broadcast a transaction for it
    SUCCEEDED = "succeeded"  # confirmed on-chain at the network's depth
    FAILED = "failed"  # proven not to have moved funds


IN_FLIGHT = (PaymentStatus.PENDING, PaymentStatus.SUBMITTED)


class Payment(TenantMixin, TimestampMixin, Base):
    """One attempt to collect an invoice on-chain.

    At most one attempt per invoice is in flight (a partial unique index), and a new attempt is made
    only after the previous one is *proven* failed. The signer deduplicates on `id`, so asking it
    twice for the same payment can never move funds twice.
    """

    __tablename__ = "payments"
    __table_args__ = (
        Index(
            "uq_payments_invoice_in_flight",
            "invoice_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'submitted')"),
        ),
        # Reconciliation's look-ups: a range's transactions, and the payments a range confirmed.
        Index("ix_payments_tx_hash", "tx_hash"),
        Index("ix_payments_network_block_number", "network", "block_number"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("invoices.id"), index=True, nullable=False
    )
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), nullable=False)
    permission_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("permissions.id"), nullable=False
    )
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus, "payment_status"), nullable=False, index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount: Mapped[int] = mapped_column(Uint256, nullable=False)  # token base units
    network: Mapped[str] = mapped_column(String(40), nullable=False)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    token_address: Mapped[str] = mapped_column(String(42), nullable=False)
    payee: Mapped[str] = mapped_column(String(42), nullable=False)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
