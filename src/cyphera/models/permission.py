from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.db.types import Uint256
from cyphera.models.mixins import TenantMixin, str_enum


class PermissionStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


class PermissionSource(enum.StrEnum):
    EIP712 = "eip712"  # a delegation signed by a 7702-upgraded or smart account
    ERC7715 = "erc7715"  # a wallet_requestExecutionPermissions grant


class Permission(TenantMixin, TimestampMixin, Base):
    """A customer's on-chain grant: the decoded caveats the server validated, and the raw context.

    Keyed on-chain by (chain, delegation hash); the terms are stored as the server validated them,
    never as a client described them.
    """

    __tablename__ = "permissions"
    __table_args__ = (
        UniqueConstraint("chain_id", "delegation_hash"),
        Index("ix_permissions_chain_id_revocation_hash", "chain_id", "revocation_hash"),
        # What the minutely expiry notice looks for: active permissions not yet notified.
        Index(
            "ix_permissions_expiry_unnotified",
            "expires_at",
            postgresql_where=text("expiry_notified_at IS NULL AND status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("customers.id"), index=True, nullable=False
    )
    network: Mapped[str] = mapped_column(String(40), nullable=False)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source: Mapped[PermissionSource] = mapped_column(
        str_enum(PermissionSource, "permission_source"), nullable=False
    )
    status: Mapped[PermissionStatus] = mapped_column(
        str_enum(PermissionStatus, "permission_status"), nullable=False
    )
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    delegate: Mapped[str] = mapped_column(String(42), nullable=False)
    delegation_manager: Mapped[str] = mapped_column(String(42), nullable=False)
    # The hash of the delegation carrying the period caveat (the enforcer's key; the signer's).
    delegation_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    # The hash of the customer's own delegation, the root of the context: what the customer's
    # account passes to ``disableDelegation`` and what ``DisabledDelegation`` logs carry. The same
    # as ``delegation_hash`` for a single-delegation context, not for a longer chain.
    revocation_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    token_address: Mapped[str] = mapped_column(String(42), nullable=False)
    token_symbol: Mapped[str] = mapped_column(String(16), nullable=False)
    token_decimals: Mapped[int] = mapped_column(nullable=False)
    period_amount: Mapped[int] = mapped_column(Uint256, nullable=False)
    period_seconds: Mapped[int] = mapped_column(BigInteger, nullable=False)
    start_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    payee: Mapped[str] = mapped_column(String(42), nullable=False)
    context: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When ``permission.expiring`` was recorded (once, some days before ``expires_at``).
    expiry_notified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The permission that took over its subscription's charges (a price change that needed a
    # larger cap): this one is never charged again, though it stays valid on-chain until the
    # customer revokes it.
    replaced_by_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("permissions.id"), nullable=True
    )
