from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.db.types import Uint256
from cyphera.models.mixins import MetadataMixin, TenantMixin, str_enum


class CheckoutSessionStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class CheckoutSessionPurpose(enum.StrEnum):
    SUBSCRIPTION = "subscription"  # a new subscription
    SUBSCRIPTION_UPDATE = "subscription_update"  # a larger permission for a pending price change


class CheckoutSession(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """A pending subscription: the exact delegation the server asks the customer to sign.

    Every term (amount, window, start, expiry, payee, delegate, salt) is fixed here by the server
    when the session is created; completion only supplies a signature (or an ERC-7715 grant) that is
    checked against these stored terms, never against anything the client describes.
    """

    __tablename__ = "checkout_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[CheckoutSessionStatus] = mapped_column(
        str_enum(CheckoutSessionStatus, "checkout_session_status"), nullable=False
    )
    price_id: Mapped[str] = mapped_column(String(40), ForeignKey("prices.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    network: Mapped[str] = mapped_column(String(40), nullable=False)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    token_symbol: Mapped[str] = mapped_column(String(16), nullable=False)
    token_address: Mapped[str] = mapped_column(String(42), nullable=False)
    token_decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    customer_address: Mapped[str] = mapped_column(String(42), nullable=False)
    payee: Mapped[str] = mapped_column(String(42), nullable=False)
    delegate: Mapped[str] = mapped_column(String(42), nullable=False)
    delegation_manager: Mapped[str] = mapped_column(String(42), nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    period_amount: Mapped[int] = mapped_column(Uint256, nullable=False)
    period_seconds: Mapped[int] = mapped_column(BigInteger, nullable=False)
    start_at: Mapped[datetime] = mapped_column(nullable=False)
    billing_anchor: Mapped[datetime] = mapped_column(nullable=False)
    permission_expires_at: Mapped[datetime] = mapped_column(nullable=False)
    # The unsigned delegation as the server built it (caveats with hex terms, salt as string).
    delegation: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    subscription_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("subscriptions.id"), nullable=True
    )
    success_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    cancel_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # Test mode: terms computed at this test clock's time; the subscription is attached to it.
    test_clock_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("test_clocks.id"), index=True, nullable=True
    )
    # A coupon to apply to the subscription; validated at creation, redeemed at completion.
    coupon_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("coupons.id"), nullable=True
    )
    # `subscription_update`: `subscription_id` is the subscription to change (set at creation),
    # `price_id`/`quantity` what it changes to; `subscription`: it is set at completion.
    purpose: Mapped[CheckoutSessionPurpose] = mapped_column(
        str_enum(CheckoutSessionPurpose, "checkout_session_purpose"),
        nullable=False,
        default=CheckoutSessionPurpose.SUBSCRIPTION,
        server_default=CheckoutSessionPurpose.SUBSCRIPTION.value,
    )
