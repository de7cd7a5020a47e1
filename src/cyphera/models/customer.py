from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import MetadataMixin, TenantMixin


class Customer(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """A payer, identified by the wallet address that grants permissions."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("workspace_id", "mode", "address"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    address: Mapped[str] = mapped_column(String(42), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
