"""Coupons and the discounts they give subscriptions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import MetadataMixin, TenantMixin, str_enum


class CouponDuration(enum.StrEnum):
    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


class Coupon(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """A reusable discount: ``percent_off_bp`` (basis points, 1..10000) xor ``amount_off``."""

    __tablename__ = "coupons"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    percent_off_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amount_off: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    duration: Mapped[CouponDuration] = mapped_column(
        str_enum(CouponDuration, "coupon_duration"), nullable=False
    )
    duration_in_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_redemptions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    redeem_by: Mapped[datetime | None] = mapped_column(nullable=True)
    times_redeemed: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    valid: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default="t")
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Discount(TenantMixin, TimestampMixin, Base):
    """A coupon applied to a subscription. At most one is current per subscription (``ended_at``
    null); a removed, replaced or used-up one keeps its row for the invoices that name it."""

    __tablename__ = "discounts"
    __table_args__ = (
        Index(
            "uq_discounts_current_subscription",
            "subscription_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    coupon_id: Mapped[str] = mapped_column(String(40), ForeignKey("coupons.id"), nullable=False)
    subscription_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("subscriptions.id"), index=True, nullable=False
    )
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), nullable=False)
    start: Mapped[datetime] = mapped_column(nullable=False)
    # `repeating`: start + duration_in_months (month-end clamped); None for once and forever.
    end: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
