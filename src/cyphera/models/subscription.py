from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import MetadataMixin, TenantMixin, str_enum


class SubscriptionStatus(enum.StrEnum):
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"


class Subscription(TenantMixin, MetadataMixin, TimestampMixin, Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("customers.id"), index=True, nullable=False
    )
    price_id: Mapped[str] = mapped_column(String(40), ForeignKey("prices.id"), nullable=False)
    permission_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("permissions.id"), nullable=True
    )
    quantity: Mapped[int] = mapped_column(nullable=False, default=1)
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "subscription_status"), nullable=False, index=True
    )
    # Anchor of the billing schedule: period N starts at anchor + N intervals (month-end clamped).
    billing_anchor: Mapped[datetime] = mapped_column(nullable=False)
    period_index: Mapped[int] = mapped_column(nullable=False, default=0)
    current_period_start: Mapped[datetime] = mapped_column(nullable=False)
    current_period_end: Mapped[datetime] = mapped_column(nullable=False, index=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
