from __future__ import annotations

import enum

from sqlalchemy import Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import str_enum
from cyphera.models.portal import PortalCancelMode


class DunningFinalStatus(enum.StrEnum):
    """What a subscription becomes when dunning gives up (Stripe's setting of the same choice)."""

    CANCELED = "canceled"
    UNPAID = "unpaid"


DEFAULT_DUNNING_RETRY_DAYS = (2, 5, 7)


class Workspace(TimestampMixin, Base):
    """A merchant's tenant: every object belongs to exactly one."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Invoice numbers are per workspace and gap-free: taken with UPDATE … RETURNING under row lock.
    invoice_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Dunning: the status a subscription ends in when every retry failed, and the retry schedule
    # (days after each failed attempt; retries past the period's on-chain window are dropped).
    dunning_final_status: Mapped[DunningFinalStatus] = mapped_column(
        str_enum(DunningFinalStatus, "dunning_final_status"),
        nullable=False,
        default=DunningFinalStatus.CANCELED,
        server_default=DunningFinalStatus.CANCELED.value,
    )
    dunning_retry_days: Mapped[list[int]] = mapped_column(
        ARRAY(Integer),
        nullable=False,
        default=lambda: list(DEFAULT_DUNNING_RETRY_DAYS),
        server_default="{2,5,7}",
    )
    # How customers may cancel from the portal (``/v1/billing_portal/configuration``).
    portal_cancel_mode: Mapped[PortalCancelMode] = mapped_column(
        str_enum(PortalCancelMode, "portal_cancel_mode"),
        nullable=False,
        default=PortalCancelMode.AT_PERIOD_END,
        server_default=PortalCancelMode.AT_PERIOD_END.value,
    )
