from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
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
    """A customer's subscription to a price. Its status changes only through
    `cyphera.subscription.lifecycle.transition` (the transition table lives there)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        # The scheduler's scans (renewals and trial ends, dunning retries, automatic resumes).
        Index("ix_subscriptions_status_current_period_end", "status", "current_period_end"),
        Index(
            "ix_subscriptions_status_next_payment_attempt_at", "status", "next_payment_attempt_at"
        ),
        Index("ix_subscriptions_status_resumes_at", "status", "resumes_at"),
        Index(
            "ix_subscriptions_trial_end_unnotified",
            "trial_end",
            postgresql_where=text("status = 'trialing' AND trial_end_notified_at IS NULL"),
        ),
        # Lists, newest first, cursor-paged on (created_at, id) within one workspace and mode
        # (`list_scoped`), with or without a status filter: an index walk, whatever the size.
        Index("ix_subscriptions_tenant_created", "workspace_id", "mode", "created_at", "id"),
        Index(
            "ix_subscriptions_tenant_status_created",
            "workspace_id",
            "mode",
            "status",
            "created_at",
            "id",
        ),
    )

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
    # Anchor of the billing schedule: period N starts at anchor + (N - anchor_index) intervals
    # (month-end clamped). `anchor_index` is the period that starts at the anchor: 0 normally, 1
    # after a trial (period 0 is the trial), the first period after a re-anchoring resume.
    billing_anchor: Mapped[datetime] = mapped_column(nullable=False)
    anchor_index: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    period_index: Mapped[int] = mapped_column(nullable=False, default=0)
    current_period_start: Mapped[datetime] = mapped_column(nullable=False)
    current_period_end: Mapped[datetime] = mapped_column(nullable=False, index=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    trial_start: Mapped[datetime | None] = mapped_column(nullable=True)
    trial_end: Mapped[datetime | None] = mapped_column(nullable=True)
    # When `subscription.trial_will_end` was recorded (sent once, three days before the end).
    trial_end_notified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resumes_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Why it was canceled: cancellation_requested, payment_failed.
    cancellation_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Dunning: when the open invoice of the current period is retried next (past_due only).
    next_payment_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Prorations not yet invoiced, in cents: positive is owed and added to the next invoice,
    # negative is a credit taken off the next invoices (we cannot pay money back on-chain).
    proration_balance: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default="0"
    )
    # Test mode: the test clock whose time this subscription lives at (`cyphera.testclock`).
    test_clock_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("test_clocks.id"), index=True, nullable=True
    )
    # A price change waiting for the customer to grant a larger permission through the checkout
    # session `pending_checkout_session_id` (`cyphera.subscription.pending`); all None otherwise.
    pending_price_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("prices.id"), nullable=True
    )
    pending_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pending_proration_behavior: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # No foreign key: checkout_sessions.subscription_id already points back here.
    pending_checkout_session_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pending_checkout_url: Mapped[str | None] = mapped_column(String(2100), nullable=True)
    pending_expires_at: Mapped[datetime | None] = mapped_column(index=True, nullable=True)
