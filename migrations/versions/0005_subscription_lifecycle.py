"""subscription lifecycle: trials, pause, cancellation reason, dunning, prorations; scheduler indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUNNING_FINAL_STATUS = postgresql.ENUM(
    "canceled", "unpaid", name="dunning_final_status", create_type=False
)
_SUBSCRIPTION_COLUMNS = (
    "anchor_index",
    "trial_start",
    "trial_end",
    "trial_end_notified_at",
    "paused_at",
    "resumes_at",
    "cancellation_reason",
    "next_payment_attempt_at",
    "proration_balance",
)


def upgrade() -> None:
    add = op.add_column
    add(
        "subscriptions", sa.Column("anchor_index", sa.Integer(), server_default="0", nullable=False)
    )
    add("subscriptions", sa.Column("trial_start", sa.DateTime(timezone=True), nullable=True))
    add("subscriptions", sa.Column("trial_end", sa.DateTime(timezone=True), nullable=True))
    add(
        "subscriptions",
        sa.Column("trial_end_notified_at", sa.DateTime(timezone=True), nullable=True),
    )
    add("subscriptions", sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    add("subscriptions", sa.Column("resumes_at", sa.DateTime(timezone=True), nullable=True))
    add("subscriptions", sa.Column("cancellation_reason", sa.String(length=40), nullable=True))
    add(
        "subscriptions",
        sa.Column("next_payment_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )
    add(
        "subscriptions",
        sa.Column("proration_balance", sa.BigInteger(), server_default="0", nullable=False),
    )
    # The scheduler's scans: due renewals and trial ends by (status, current_period_end), dunning
    # retries by (status, next_payment_attempt_at), automatic resumes by (status, resumes_at).
    op.create_index(
        "ix_subscriptions_status_current_period_end",
        "subscriptions",
        ["status", "current_period_end"],
        unique=False,
    )
    op.create_index(
        "ix_subscriptions_status_next_payment_attempt_at",
        "subscriptions",
        ["status", "next_payment_attempt_at"],
        unique=False,
    )
    op.create_index(
        "ix_subscriptions_status_resumes_at",
        "subscriptions",
        ["status", "resumes_at"],
        unique=False,
    )

    _DUNNING_FINAL_STATUS.create(op.get_bind(), checkfirst=False)
    add(
        "workspaces",
        sa.Column(
            "dunning_final_status",
            _DUNNING_FINAL_STATUS,
            server_default="canceled",
            nullable=False,
        ),
    )
    add(
        "workspaces",
        sa.Column(
            "dunning_retry_days",
            postgresql.ARRAY(sa.Integer()),
            server_default="{2,5,7}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("workspaces", "dunning_retry_days")
    op.drop_column("workspaces", "dunning_final_status")
    _DUNNING_FINAL_STATUS.drop(op.get_bind(), checkfirst=False)
    op.drop_index("ix_subscriptions_status_resumes_at", table_name="subscriptions")
    op.drop_index("ix_subscriptions_status_next_payment_attempt_at", table_name="subscriptions")
    op.drop_index("ix_subscriptions_status_current_period_end", table_name="subscriptions")
    for column in reversed(_SUBSCRIPTION_COLUMNS):
        op.drop_column("subscriptions", column)
