from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base
from cyphera.db.types import Uint256
from cyphera.models.mixins import Mode, str_enum


class FindingKind(enum.StrEnum):
    # A transfer through our delegations to a payout address that no payment records.
    UNRECORDED_TRANSFER = "unrecorded_transfer"
    # A payment recorded as succeeded whose transfer is not on chain at the confirmation depth.
    MISSING_TRANSFER = "missing_transfer"
    # A payment and its transfer agree on transaction, token, payer and payee, not on the amount.
    AMOUNT_MISMATCH = "amount_mismatch"


class ReconciliationFinding(Base):
    """A difference between the books and the chain that reconciliation found: an alarm kept for
    operators, never a correction (payments and invoices are left as they are).

    Platform-level like dead letters: ``workspace_id``/``mode`` say whose books differ when that
    is known (a payment, or a payout address only one workspace uses). The same difference found
    again is the same row (``fingerprint``, unique per network): ``last_seen_at`` and
    ``times_seen`` grow; ``first_seen_at`` is when it was found.
    """

    __tablename__ = "reconciliation_findings"
    __table_args__ = (
        UniqueConstraint("network", "fingerprint"),
        Index("ix_reconciliation_findings_first_seen_at", "first_seen_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    network: Mapped[str] = mapped_column(String(40), nullable=False)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[FindingKind] = mapped_column(
        str_enum(FindingKind, "reconciliation_finding_kind"), nullable=False
    )
    # What identifies the difference: kind, transaction, log index and payment.
    fingerprint: Mapped[str] = mapped_column(String(200), nullable=False)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    log_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    token_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    from_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    to_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    amount_expected: Mapped[int | None] = mapped_column(Uint256, nullable=True)  # the books
    amount_seen: Mapped[int | None] = mapped_column(Uint256, nullable=True)  # the chain
    # Plain ids, no foreign keys: a finding outlives a payment row deleted by mistake.
    payment_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    invoice_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    workspace_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("workspaces.id", ondelete="RESTRICT"), nullable=True
    )
    mode: Mapped[Mode | None] = mapped_column(str_enum(Mode, "mode"), nullable=True)
    detail: Mapped[str] = mapped_column(String(500), nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(nullable=False)
    times_seen: Mapped[int] = mapped_column(nullable=False)
