"""Columns every tenant-owned table shares."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class Mode(enum.StrEnum):
    """Stripe's two worlds: test keys see only test objects, live keys only live ones."""

    TEST = "test"
    LIVE = "live"


def str_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum storing the members' values (not their Python names)."""
    return Enum(enum_cls, name=name, values_callable=lambda members: [m.value for m in members])


class TenantMixin:
    """`workspace_id` + `mode`: the pair every tenant query is scoped by (see `cyphera.auth`)."""

    @declared_attr
    def workspace_id(cls) -> Mapped[str]:
        return mapped_column(
            String(40), ForeignKey("workspaces.id", ondelete="RESTRICT"), index=True, nullable=False
        )

    @declared_attr
    def mode(cls) -> Mapped[Mode]:
        return mapped_column(str_enum(Mode, "mode"), nullable=False)


class MetadataMixin:
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, default=dict, server_default="{}"
    )
