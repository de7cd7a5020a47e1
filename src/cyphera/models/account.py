from __future__ import annotations

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin


class Account(TimestampMixin, Base):
    """A person who signs in to manage workspaces: by wallet (EIP-4361), by an OIDC issuer, or both.

    An account belongs to no workspace; `Member` rows say which workspaces it may act in, and how.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("oidc_issuer", "oidc_subject"),
        CheckConstraint(
            "wallet_address IS NOT NULL OR oidc_subject IS NOT NULL", name="has_identity"
        ),
        CheckConstraint("(oidc_issuer IS NULL) = (oidc_subject IS NULL)", name="oidc_pair"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # EIP-55 checksummed; the address a SIWE message proved control of.
    wallet_address: Mapped[str | None] = mapped_column(String(42), unique=True, nullable=True)
    oidc_issuer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
