"""subscription lists walk an index: (workspace, mode[, status], created_at, id)

The dashboard and ``GET /v1/subscriptions`` page newest first on ``(created_at, id)`` within one
workspace and mode, optionally by status. Without these the first page of a workspace with
100,000 subscriptions sorted them all (67 ms measured by ``make bench-lists``).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_subscriptions_tenant_created",
        "subscriptions",
        ["workspace_id", "mode", "created_at", "id"],
    )
    op.create_index(
        "ix_subscriptions_tenant_status_created",
        "subscriptions",
        ["workspace_id", "mode", "status", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_subscriptions_tenant_status_created", table_name="subscriptions")
    op.drop_index("ix_subscriptions_tenant_created", table_name="subscriptions")
