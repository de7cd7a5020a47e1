"""dead letters: jobs whose last attempt failed, kept for operators; operators in the audit log

``dead_letters`` holds one row per job that failed for good (its retry strategy said no more):
the task, its arguments, how often it ran, the last error and its traceback, and what an operator
did with it (``open`` → ``retried`` or ``discarded``). A periodic task's failures gather in one
open row per task (``periodic``; the partial unique index), so a tick failing every minute is one
row whose ``attempts`` and ``last_failed_at`` grow, not a row a minute.

``audit_actor_type`` gains ``operator``: the person at the CLI or with the admin token.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE audit_actor_type ADD VALUE IF NOT EXISTS 'operator'")
    status = sa.Enum("open", "retried", "discarded", name="dead_letter_status")
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("task_name", sa.String(length=200), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=False),
        sa.Column("lock", sa.Text(), nullable=True),
        sa.Column("queueing_lock", sa.Text(), nullable=True),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("periodic", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_type", sa.String(length=200), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=True),
        sa.Column("mode", postgresql.ENUM(name="mode", create_type=False), nullable=True),
        sa.Column("status", status, nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("retry_job_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_at IS NULL)", name=op.f("ck_dead_letters_resolved")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_dead_letters_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index("ix_dead_letters_status_created", "dead_letters", ["status", "created_at"])
    op.create_index(
        "uq_dead_letters_open_periodic",
        "dead_letters",
        ["task_name"],
        unique=True,
        postgresql_where=sa.text("status = 'open' AND periodic"),
    )


def downgrade() -> None:
    op.drop_index("uq_dead_letters_open_periodic", table_name="dead_letters")
    op.drop_index("ix_dead_letters_status_created", table_name="dead_letters")
    op.drop_table("dead_letters")
    sa.Enum(name="dead_letter_status").drop(op.get_bind())
    # ``operator`` stays in ``audit_actor_type``: PostgreSQL cannot drop an enum value, and the
    # operators' audit entries are kept (re-upgrading adds the value only if it is missing).
