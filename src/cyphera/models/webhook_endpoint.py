from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import MetadataMixin, TenantMixin, str_enum


class WebhookEndpointStatus(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class WebhookEndpoint(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """Where a workspace's events are delivered, and the secrets deliveries are signed with.

    The signing secrets are stored encrypted (`cyphera.webhook.secrets`), never in plaintext:
    ``secret_ciphertext`` is the current one; after a rotation ``previous_secret_ciphertext`` keeps
    signing in parallel until ``previous_secret_expires_at``. Deleting sets ``deleted_at``; a
    deleted endpoint is neither listed nor found.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    enabled_events: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    status: Mapped[WebhookEndpointStatus] = mapped_column(
        str_enum(WebhookEndpointStatus, "webhook_endpoint_status"), nullable=False
    )
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    previous_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Since when every attempt has failed (none succeeded since); the endpoint is disabled when
    # this is older than the delivery horizon. Cleared by a success and by re-enabling.
    failing_since: Mapped[datetime | None] = mapped_column(nullable=True)
