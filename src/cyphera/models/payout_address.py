from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import TenantMixin


class PayoutAddress(TenantMixin, TimestampMixin, Base):
    """Where a merchant is paid on one network: the address every permission's payee lock names."""

    __tablename__ = "payout_addresses"
    __table_args__ = (UniqueConstraint("workspace_id", "mode", "network"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    network: Mapped[str] = mapped_column(String(40), nullable=False)
    address: Mapped[str] = mapped_column(String(42), nullable=False)
