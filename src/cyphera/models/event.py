from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import TenantMixin


class Event(TenantMixin, TimestampMixin, Base):
    """A state change, written in the same transaction as the change (the webhook outbox).

    `sequence` numbers events in the order they were written, so events written by one
    transaction (``subscription.created``, ``invoice.created``, ``payment.succeeded``…) list in
    their causal order, which their shared ``created_at`` cannot give.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_id_mode_sequence", "workspace_id", "mode", "sequence"),
        Index("ix_events_unfanned", "sequence", postgresql_where=text("fanned_out_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sequence: Mapped[int] = mapped_column(
        BigInteger, Identity(always=True), nullable=False, unique=True
    )
    type: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    object_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # When the webhook fan-out made this event's deliveries (`cyphera.webhook.fanout`); until
    # then the event is in the small partial index the fan-out reads.
    fanned_out_at: Mapped[datetime | None] = mapped_column(nullable=True)
