"""the customer portal: merchant-made portal links, customers' cookie sessions, cancel mode

``billing_portal_sessions`` are the short-lived links a merchant makes for one customer
(``POST /v1/billing_portal/sessions``); ``portal_sessions`` are customers signed in to the portal,
by wallet (every workspace's subscriptions of that address) or by such a link (one customer).
``workspaces.portal_cancel_mode`` says whether customers cancel at the period's end (the default)
or at once.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODE = postgresql.ENUM("test", "live", name="mode", create_type=False)


def upgrade() -> None:
    cancel_mode = sa.Enum("at_period_end", "immediately", name="portal_cancel_mode")
    cancel_mode.create(op.get_bind())
    op.add_column(
        "workspaces",
        sa.Column(
            "portal_cancel_mode",
            cancel_mode,
            server_default="at_period_end",
            nullable=False,
        ),
    )
    op.create_table(
        "billing_portal_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("return_url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", MODE, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_billing_portal_sessions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_billing_portal_sessions_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_portal_sessions")),
    )
    op.create_index(
        op.f("ix_billing_portal_sessions_customer_id"), "billing_portal_sessions", ["customer_id"]
    )
    op.create_index(
        op.f("ix_billing_portal_sessions_workspace_id"), "billing_portal_sessions", ["workspace_id"]
    )
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("method", sa.Enum("siwe", "link", name="portal_session_method"), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=True),
        sa.Column("mode", MODE, nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("return_url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(method = 'siwe' AND address IS NOT NULL AND customer_id IS NULL)"
            " OR (method = 'link' AND address IS NULL AND customer_id IS NOT NULL"
            " AND workspace_id IS NOT NULL AND mode IS NOT NULL)",
            name=op.f("ck_portal_sessions_viewer"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_portal_sessions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_portal_sessions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    op.create_index(op.f("ix_portal_sessions_expires_at"), "portal_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("portal_sessions")
    op.drop_table("billing_portal_sessions")
    op.drop_column("workspaces", "portal_cancel_mode")
    sa.Enum(name="portal_session_method").drop(op.get_bind())
    sa.Enum(name="portal_cancel_mode").drop(op.get_bind())
