from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import Mode, str_enum


class ApiKeyKind(enum.StrEnum):
    SECRET = "secret"  # noqa: S105 - a kind of key, not a key
    RESTRICTED = "restricted"


class ApiKey(TimestampMixin, Base):
    """A secret key, stored only as its SHA-256; the plaintext is shown once at creation."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("workspaces.id"), index=True, nullable=False
    )
    mode: Mapped[Mode] = mapped_column(str_enum(Mode, "mode"), nullable=False)
    kind: Mapped[ApiKeyKind] = mapped_column(str_enum(ApiKeyKind, "api_key_kind"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # First characters of the key (``sk_test_AbCd``) so a merchant can tell keys apart.
    redacted: Mapped[str] = mapped_column(String(40), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
