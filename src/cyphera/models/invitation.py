from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.member import MemberRole
from cyphera.models.mixins import str_enum


class Invitation(TimestampMixin, Base):
    """An invitation to join a workspace with a role, for an email or a wallet address.

    The token is shown once, to the inviter, and stored only as its SHA-256. An address invitation
    can only be accepted by the account signed in with that address.
    """

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint("(email IS NULL) <> (address IS NULL)", name="one_invitee"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("workspaces.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "member_role"), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    invited_by_account_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("accounts.id"), nullable=False
    )
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    accepted_by_account_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("accounts.id"), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
