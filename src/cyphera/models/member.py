from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin
from cyphera.models.mixins import str_enum


class MemberRole(enum.StrEnum):
    """What a member may do; the rules are written once, in `cyphera.auth.roles`."""

    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"


class Member(TimestampMixin, Base):
    """An account's membership of a workspace, with its role: the only way a session reaches one."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "account_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("workspaces.id", ondelete="RESTRICT"), nullable=False
    )
    account_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "member_role"), nullable=False)
