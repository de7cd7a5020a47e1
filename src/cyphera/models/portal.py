"""The customer portal: merchant-made portal links and the customers' cookie sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base
from cyphera.models.mixins import Mode, TenantMixin, str_enum


class PortalCancelMode(enum.StrEnum):
    """How a customer may cancel from the portal (Stripe's ``subscription_cancel.mode``)."""

    AT_PERIOD_END = "at_period_end"
    IMMEDIATELY = "immediately"


class PortalSessionMethod(enum.StrEnum):
    SIWE = "siwe"  # the customer signed in with their wallet: every merchant's subscriptions
    LINK = "link"  # a merchant's portal link: one customer of one workspace


class BillingPortalSession(TenantMixin, Base):
    """A short-lived portal link a merchant made for one customer (``bps_…``).

    Its URL's key is an HMAC of the id (`cyphera.kit.hosted`): nothing secret is stored.
    """

    __tablename__ = "billing_portal_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("customers.id", ondelete="CASCADE"), index=True, nullable=False
    )
    return_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)


class PortalSession(Base):
    """A customer signed in to the portal: an opaque cookie token stored only as its SHA-256.

    Who it shows is fixed when it opens and never widened: a wallet (``address``: that address's
    customers in every workspace and mode) or one customer (``customer_id`` in its workspace and
    mode, from a merchant's link). `cyphera.portal.viewer.Viewer` is the one place that turns it
    into a query condition.
    """

    __tablename__ = "portal_sessions"
    __table_args__ = (
        CheckConstraint(
            "(method = 'siwe' AND address IS NOT NULL AND customer_id IS NULL)"
            " OR (method = 'link' AND address IS NULL AND customer_id IS NOT NULL"
            " AND workspace_id IS NOT NULL AND mode IS NOT NULL)",
            name="viewer",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    method: Mapped[PortalSessionMethod] = mapped_column(
        str_enum(PortalSessionMethod, "portal_session_method"), nullable=False
    )
    address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    workspace_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True
    )
    mode: Mapped[Mode | None] = mapped_column(str_enum(Mode, "mode"), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("customers.id", ondelete="CASCADE"), nullable=True
    )
    return_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
