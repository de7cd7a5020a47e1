from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import TenantMixin, str_enum


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class Invoice(TenantMixin, TimestampMixin, Base):
    """One invoice per (subscription, period): the unique constraint is the scheduler's backstop."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period_index"),
        UniqueConstraint("workspace_id", "mode", "number"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), nullable=False)
    subscription_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("subscriptions.id"), index=True, nullable=True
    )
    period_index: Mapped[int | None] = mapped_column(nullable=True)
    period_start: Mapped[datetime] = mapped_column(nullable=False)
    period_end: Mapped[datetime] = mapped_column(nullable=False)
    status: Mapped[InvoiceStatus] = mapped_column(
        str_enum(InvoiceStatus, "invoice_status"), nullable=False
    )
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_due: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_paid: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
