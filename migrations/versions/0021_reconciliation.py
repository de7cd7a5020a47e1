"""reconciliation: findings where the books and the chain differ; payments found by transaction

``reconciliation_findings`` keeps each difference reconciliation found between our payments and
the ERC-20 transfers made through our delegations (``unrecorded_transfer``, ``missing_transfer``,
``amount_mismatch``): one row per difference (``fingerprint`` unique per network), seen again
updates ``last_seen_at`` and ``times_seen``. Its cursor per network is a ``chain_cursors`` row
keyed ``reconciliation:<network>`` (no schema change there).

``payments`` gains the two indexes reconciliation reads by: the transaction hash, and the block a
payment was confirmed in per network.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    kind = sa.Enum(
        "unrecorded_transfer",
        "missing_transfer",
        "amount_mismatch",
        name="reconciliation_finding_kind",
    )
    op.create_table(
        "reconciliation_findings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", kind, nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("token_address", sa.String(length=42), nullable=True),
        sa.Column("from_address", sa.String(length=42), nullable=True),
        sa.Column("to_address", sa.String(length=42), nullable=True),
        sa.Column("amount_expected", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("amount_seen", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("invoice_id", sa.String(length=40), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=True),
        sa.Column("mode", postgresql.ENUM(name="mode", create_type=False), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_reconciliation_findings_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_findings")),
        sa.UniqueConstraint(
            "network", "fingerprint", name=op.f("uq_reconciliation_findings_network_fingerprint")
        ),
    )
    op.create_index(
        "ix_reconciliation_findings_first_seen_at", "reconciliation_findings", ["first_seen_at"]
    )
    op.create_index("ix_payments_tx_hash", "payments", ["tx_hash"])
    op.create_index("ix_payments_network_block_number", "payments", ["network", "block_number"])


def downgrade() -> None:
    op.drop_index("ix_payments_network_block_number", table_name="payments")
    op.drop_index("ix_payments_tx_hash", table_name="payments")
    op.drop_index("ix_reconciliation_findings_first_seen_at", table_name="reconciliation_findings")
    op.drop_table("reconciliation_findings")
    sa.Enum(name="reconciliation_finding_kind").drop(op.get_bind())
