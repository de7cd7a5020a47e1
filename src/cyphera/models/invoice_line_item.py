"""The line items of invoices."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import TenantMixin, str_enum


class InvoiceLineKind(enum.StrEnum):
    SUBSCRIPTION = "subscription"
    PRORATION = "proration"
    DISCOUNT = "discount"


class InvoiceLineItem(TenantMixin, TimestampMixin, Base):
    """One line of an invoice; an invoice's lines add up exactly to its total (signed cents)."""

    __tablename__ = "invoice_line_items"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("invoices.id"), index=True, nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[InvoiceLineKind] = mapped_column(
        str_enum(InvoiceLineKind, "invoice_line_kind"), nullable=False
    )
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    price_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("prices.id"), nullable=True)
    discount_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("discounts.id"), nullable=True
    )
    quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unit_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    period_start: Mapped[datetime] = mapped_column(nullable=False)
    period_end: Mapped[datetime] = mapped_column(nullable=False)
