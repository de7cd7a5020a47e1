"""test clocks and the subscriptions attached to them

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "test_clocks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("frozen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("ready", "advancing", "internal_failure", name="test_clock_status"),
            nullable=False,
        ),
        sa.Column("advance_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", postgresql.ENUM(name="mode", create_type=False), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_test_clocks_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_clocks")),
    )
    op.create_index(
        op.f("ix_test_clocks_workspace_id"), "test_clocks", ["workspace_id"], unique=False
    )
    for table in ("subscriptions", "checkout_sessions"):
        op.add_column(table, sa.Column("test_clock_id", sa.String(length=40), nullable=True))
        op.create_foreign_key(
            op.f(f"fk_{table}_test_clock_id_test_clocks"),
            table,
            "test_clocks",
            ["test_clock_id"],
            ["id"],
        )
        op.create_index(op.f(f"ix_{table}_test_clock_id"), table, ["test_clock_id"], unique=False)


def downgrade() -> None:
    for table in ("checkout_sessions", "subscriptions"):
        op.drop_index(op.f(f"ix_{table}_test_clock_id"), table_name=table)
        op.drop_constraint(op.f(f"fk_{table}_test_clock_id_test_clocks"), table, type_="foreignkey")
        op.drop_column(table, "test_clock_id")
    op.drop_index(op.f("ix_test_clocks_workspace_id"), table_name="test_clocks")
    op.drop_table("test_clocks")
    op.execute("DROP TYPE IF EXISTS test_clock_status")
