"""signer: charges and the transactions that carry them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

The signer's own tables (`cyphera.signer.models`). A transaction row holds the signed raw bytes,
hash and nonce and is committed before the transaction is broadcast; among rows that are not
``replaced``, (chain_id, relayer, nonce) is unique.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signer_transactions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("relayer", sa.String(length=42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("calldata", sa.LargeBinary(), nullable=False),
        sa.Column("gas_limit", sa.BigInteger(), nullable=False),
        sa.Column("max_fee_per_gas", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("max_priority_fee_per_gas", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("raw_transaction", sa.LargeBinary(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "signed",
                "broadcast",
                "mined",
                "confirmed",
                "failed",
                "replaced",
                name="signer_tx_status",
            ),
            nullable=False,
        ),
        sa.Column("replaces_id", sa.BigInteger(), nullable=True),
        sa.Column("broadcast_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("receipt_block_number", sa.BigInteger(), nullable=True),
        sa.Column("receipt_block_hash", sa.String(length=66), nullable=True),
        sa.Column("receipt_gas_used", sa.BigInteger(), nullable=True),
        sa.Column("receipt_status", sa.SmallInteger(), nullable=True),
        sa.Column("broadcast_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
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
            ["replaces_id"],
            ["signer_transactions.id"],
            name=op.f("fk_signer_transactions_replaces_id_signer_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signer_transactions")),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_signer_transactions_tx_hash")),
    )
    op.create_index(
        "ix_signer_transactions_in_flight",
        "signer_transactions",
        ["chain_id", "relayer"],
        unique=False,
        postgresql_where=sa.text("status IN ('signed', 'broadcast', 'mined')"),
    )
    op.create_index(
        "uq_signer_transactions_live_nonce",
        "signer_transactions",
        ["chain_id", "relayer", "nonce"],
        unique=True,
        postgresql_where=sa.text("status <> 'replaced'"),
    )
    op.create_table(
        "signer_charges",
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("relayer", sa.String(length=42), nullable=False),
        sa.Column("permission_context", sa.LargeBinary(), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("payee", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("delegator", sa.String(length=42), nullable=True),
        sa.Column("delegation_hash", sa.String(length=66), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "submitted", "confirmed", "failed", name="signer_charge_status"),
            nullable=False,
        ),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
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
            ["transaction_id"],
            ["signer_transactions.id"],
            name=op.f("fk_signer_charges_transaction_id_signer_transactions"),
        ),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_signer_charges")),
    )
    op.create_index(
        "ix_signer_charges_pending",
        "signer_charges",
        ["chain_id", "relayer"],
        unique=False,
        postgresql_where=sa.text("status = 'pending' AND transaction_id IS NULL"),
    )
    op.create_index(
        op.f("ix_signer_charges_transaction_id"), "signer_charges", ["transaction_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_signer_charges_transaction_id"), table_name="signer_charges")
    op.drop_index(
        "ix_signer_charges_pending",
        table_name="signer_charges",
        postgresql_where=sa.text("status = 'pending' AND transaction_id IS NULL"),
    )
    op.drop_table("signer_charges")
    op.drop_index(
        "uq_signer_transactions_live_nonce",
        table_name="signer_transactions",
        postgresql_where=sa.text("status <> 'replaced'"),
    )
    op.drop_index(
        "ix_signer_transactions_in_flight",
        table_name="signer_transactions",
        postgresql_where=sa.text("status IN ('signed', 'broadcast', 'mined')"),
    )
    op.drop_table("signer_transactions")
    for enum_name in ("signer_charge_status", "signer_tx_status"):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")
