from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import str_enum


class SessionMethod(enum.StrEnum):
    SIWE = "siwe"
    OIDC = "oidc"


class AccountSession(TimestampMixin, Base):
    """A signed-in account: an opaque bearer token stored only as its SHA-256, expiring, revocable."""

    __tablename__ = "account_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    method: Mapped[SessionMethod] = mapped_column(
        str_enum(SessionMethod, "session_method"), nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
