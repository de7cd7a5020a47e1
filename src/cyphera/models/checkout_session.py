from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

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


# Fixed together when the session is prepared (`cyphera.permission.request.RequestedTerms`).
TERM_COLUMNS = (
    "network",
    "chain_id",
    "token_symbol",
    "token_address",
    "token_decimals",
    "payee",
    "delegate",
    "delegation_manager",
    "period_amount",
    "period_seconds",
    "start_at",
    "permission_expires_at",
    "delegation",
)


class CheckoutSession(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """A pending subscription: the exact delegation the server asks the customer to sign.

    A session is created for a price and the networks and tokens the merchant accepts; the wallet
    may be unknown yet. It is *prepared* once wallet, network and token are chosen: the server then
    fixes every term (amount, window, start, expiry, payee, delegate, salt) in the term columns,
    which are all set or all null. Completion only supplies a signature (or an ERC-7715 grant) that
    is checked against these stored terms, never against anything the client describes.
    """

    __tablename__ = "checkout_sessions"
    __table_args__ = (
        CheckConstraint(
            "num_nulls(" + ", ".join(TERM_COLUMNS) + f") IN (0, {len(TERM_COLUMNS)})",
            name="terms_all_or_none",
        ),
        CheckConstraint(
            "delegation IS NULL OR customer_address IS NOT NULL", name="terms_have_customer"
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[CheckoutSessionStatus] = mapped_column(
        str_enum(CheckoutSessionStatus, "checkout_session_status"), nullable=False
    )
    price_id: Mapped[str] = mapped_column(String(40), ForeignKey("prices.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # What the customer may choose from: network keys, and token symbols.
    accepted_networks: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    accepted_tokens: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    billing_anchor: Mapped[datetime] = mapped_column(nullable=False)
    # The paying wallet: set at creation by a merchant who knows it, or when the session is prepared.
    customer_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    # Given by the merchant at creation; the customer gets it on completion if they have none.
    customer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # True when the merchant named the wallet: preparing for another one is refused.
    customer_address_fixed: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # The terms (`TERM_COLUMNS`): null until the session is prepared.
    network: Mapped[str | None] = mapped_column(String(40), nullable=True)
    chain_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    token_symbol: Mapped[str | None] = mapped_column(String(16), nullable=True)
    token_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    token_decimals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payee: Mapped[str | None] = mapped_column(String(42), nullable=True)
    delegate: Mapped[str | None] = mapped_column(String(42), nullable=True)
    delegation_manager: Mapped[str | None] = mapped_column(String(42), nullable=True)
    period_amount: Mapped[int | None] = mapped_column(Uint256, nullable=True)
    period_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    start_at: Mapped[datetime | None] = mapped_column(nullable=True)
    permission_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The unsigned delegation as the server built it (caveats with hex terms, salt as string).
    delegation: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
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
