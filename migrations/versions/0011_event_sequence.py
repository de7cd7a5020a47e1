"""events numbered in the order they were written; idempotency keys per caller, not per API key

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows are numbered by PostgreSQL when the identity column is added.
    op.add_column(
        "events",
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
    )
    op.create_unique_constraint(op.f("uq_events_sequence"), "events", ["sequence"])
    op.create_index(
        "ix_events_workspace_id_mode_sequence",
        "events",
        ["workspace_id", "mode", "sequence"],
        unique=False,
    )
    # Session-authenticated requests key by account: the caller is no longer always an API key.
    op.drop_constraint(
        op.f("fk_idempotency_keys_api_key_id_api_keys"), "idempotency_keys", type_="foreignkey"
    )
    op.alter_column("idempotency_keys", "api_key_id", new_column_name="principal_id")


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE principal_id NOT IN (SELECT id FROM api_keys)")
    op.alter_column("idempotency_keys", "principal_id", new_column_name="api_key_id")
    op.create_foreign_key(
        op.f("fk_idempotency_keys_api_key_id_api_keys"),
        "idempotency_keys",
        "api_keys",
        ["api_key_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_index("ix_events_workspace_id_mode_sequence", table_name="events")
    op.drop_constraint(op.f("uq_events_sequence"), "events", type_="unique")
    op.drop_column("events", "sequence")
