from __future__ import annotations

import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.kit.periods import Interval
from cyphera.models.mixins import MetadataMixin, TenantMixin, str_enum

__all__ = ["Interval", "Price", "PriceType"]


class PriceType(enum.StrEnum):
    RECURRING = "recurring"
    ONE_TIME = "one_time"


class Price(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """A price in USD cents; immutable once used (a change is a new price)."""

    __tablename__ = "prices"
    __table_args__ = (
        CheckConstraint("unit_amount >= 0", name="unit_amount_non_negative"),
        CheckConstraint(
            "(type = 'recurring') = (recurring_interval IS NOT NULL AND "
            "recurring_interval_count IS NOT NULL)",
            name="recurring_fields",
        ),
        CheckConstraint("recurring_interval_count >= 1", name="interval_count_positive"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("products.id"), index=True, nullable=False
    )
    type: Mapped[PriceType] = mapped_column(str_enum(PriceType, "price_type"), nullable=False)
    unit_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    recurring_interval: Mapped[Interval | None] = mapped_column(
        str_enum(Interval, "price_interval"), nullable=True
    )
    recurring_interval_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trial_period_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
