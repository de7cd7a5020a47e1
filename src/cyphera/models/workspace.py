from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base, TimestampMixin


class Workspace(TimestampMixin, Base):
    """A merchant's tenant: every object belongs to exactly one."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Invoice numbers are per workspace and gap-free: taken with UPDATE … RETURNING under row lock.
    invoice_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
