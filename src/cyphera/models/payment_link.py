"""Payment links: a reusable public URL for one price that opens a fresh checkout per visit."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import true

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import MetadataMixin, TenantMixin


class PaymentLink(TenantMixin, MetadataMixin, TimestampMixin, Base):
    """A merchant's link (``plink_…``) to buy `price_id` × `quantity` (Stripe's payment link).

    It holds what each checkout session it opens is made with; the session checks them again
    when it is made (`cyphera.checkout.service.create_session`), so a price archived or a payout
    address removed since the link was made is refused then, not trusted from here.
    `accepted_networks`/`accepted_tokens` null: whatever the mode offers at the visit, as a
    checkout session made without them.
    """

    __tablename__ = "payment_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    price_id: Mapped[str] = mapped_column(String(40), ForeignKey("prices.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    accepted_networks: Mapped[list[str] | None] = mapped_column(JSONB, nullable=True)
    accepted_tokens: Mapped[list[str] | None] = mapped_column(JSONB, nullable=True)
    success_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    cancel_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    active: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=true()
    )
