from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import MetadataMixin, TenantMixin, str_enum


class TestClockStatus(enum.StrEnum):
    __test__ = False  # not a pytest test class, whatever its name

    READY = "ready"
    ADVANCING = "advancing"
    INTERNAL_FAILURE = "internal_failure"


class TestClock(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """A test-mode clock: the subscriptions attached to it live at ``frozen_time``, not the wall
    clock's time, and move only when it is advanced (`cyphera.testclock.service`).

    While ``advancing``, ``advance_to`` is the target the `test_clock.advance` job walks towards;
    ``failure_reason`` says why an advance stopped in ``internal_failure``. Deleting sets
    ``deleted_at``: a deleted clock is neither listed nor found.
    """

    __test__ = False  # not a pytest test class, whatever its name
    __tablename__ = "test_clocks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    frozen_time: Mapped[datetime] = mapped_column(nullable=False)
    status: Mapped[TestClockStatus] = mapped_column(
        str_enum(TestClockStatus, "test_clock_status"), nullable=False
    )
    advance_to: Mapped[datetime | None] = mapped_column(nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
