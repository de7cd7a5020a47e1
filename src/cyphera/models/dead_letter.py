from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base
from cyphera.models.mixins import Mode, str_enum


class DeadLetterStatus(enum.StrEnum):
    OPEN = "open"  # waiting for an operator
    RETRIED = "retried"  # the same task and arguments were enqueued again
    DISCARDED = "discarded"  # an operator decided it needs no rerun


class DeadLetter(Base):
    """A job whose last attempt failed: what ran, with what, how often, and how it failed.

    Platform-level: ``workspace_id`` and ``mode`` say whose object the arguments name when that
    is known (a payment, a test clock), and are empty otherwise. A periodic task's failures
    gather in its one open row (``periodic``): ``attempts`` counts the failed ticks and
    ``job_id`` is the last one's.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved"),
        Index("ix_dead_letters_status_created", "status", "created_at"),
        Index(
            "uq_dead_letters_open_periodic",
            "task_name",
            unique=True,
            postgresql_where=text("status = 'open' AND periodic"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_name: Mapped[str] = mapped_column(String(200), nullable=False)
    job_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    queue: Mapped[str] = mapped_column(String(200), nullable=False)
    lock: Mapped[str | None] = mapped_column(Text, nullable=True)
    queueing_lock: Mapped[str | None] = mapped_column(Text, nullable=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    periodic: Mapped[bool] = mapped_column(nullable=False)
    attempts: Mapped[int] = mapped_column(nullable=False)
    error_type: Mapped[str] = mapped_column(String(200), nullable=False)
    error_message: Mapped[str] = mapped_column(Text, nullable=False)
    traceback: Mapped[str] = mapped_column(Text, nullable=False)
    workspace_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("workspaces.id", ondelete="RESTRICT"), nullable=True
    )
    mode: Mapped[Mode | None] = mapped_column(str_enum(Mode, "mode"), nullable=True)
    status: Mapped[DeadLetterStatus] = mapped_column(
        str_enum(DeadLetterStatus, "dead_letter_status"), nullable=False
    )
    first_failed_at: Mapped[datetime] = mapped_column(nullable=False)
    last_failed_at: Mapped[datetime] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    retry_job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
