from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base
from cyphera.models.mixins import Mode, str_enum


class ActorType(enum.StrEnum):
    ACCOUNT = "account"  # a person, through a dashboard session
    API_KEY = "api_key"  # an integration, through a secret key
    OPERATOR = "operator"  # the platform's operator: the CLI, or the admin API's token


class AuditEntry(Base):
    """Who did what, to which object, in which request: written in the same transaction as the act.

    ``workspace_id`` is empty for acts on no workspace (signing in and out); ``mode`` is the API
    key's for acts through the REST API and empty for management acts, which span both modes.
    """

    __tablename__ = "audit_entries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("workspaces.id", ondelete="RESTRICT"), index=True, nullable=True
    )
    mode: Mapped[Mode | None] = mapped_column(str_enum(Mode, "mode"), nullable=True)
    actor_type: Mapped[ActorType] = mapped_column(
        str_enum(ActorType, "audit_actor_type"), nullable=False
    )
    actor_id: Mapped[str] = mapped_column(String(40), nullable=False)
    action: Mapped[str] = mapped_column(String(160), nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    request_id: Mapped[str] = mapped_column(String(128), nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default="{}"
    )
    created_at: Mapped[datetime] = mapped_column(nullable=False)
