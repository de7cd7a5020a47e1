"""following the chain: a block cursor per network, the customer's delegation hash, expiry notices

``chain_cursors`` records, per network, the last block whose ``DisabledDelegation`` logs were
applied. ``permissions.revocation_hash`` is the hash of the customer's own (root) delegation,
the one ``disableDelegation`` disables and ``DisabledDelegation`` names; existing rows are
backfilled from their stored context (the same for a single-delegation context as
``delegation_hash``, which is the period caveat's delegation). ``permissions.expiry_notified_at``
records the one ``permission.expiring`` event (a partial index keeps the minutely look-up small).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cyphera.delegation.encoding import decode_permission_context
from cyphera.delegation.hashing import hash_delegation

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


def upgrade() -> None:
    op.create_table(
        "chain_cursors",
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_chain_cursors")),
    )
    op.add_column(
        "permissions", sa.Column("expiry_notified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("permissions", sa.Column("revocation_hash", sa.String(length=66), nullable=True))
    _backfill_revocation_hashes()
    op.alter_column("permissions", "revocation_hash", nullable=False)
    op.create_index(
        "ix_permissions_chain_id_revocation_hash", "permissions", ["chain_id", "revocation_hash"]
    )
    op.create_index(
        "ix_permissions_expiry_unnotified",
        "permissions",
        ["expires_at"],
        postgresql_where=sa.text("expiry_notified_at IS NULL AND status = 'active'"),
    )


def _backfill_revocation_hashes() -> None:
    connection = op.get_bind()
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, context FROM permissions WHERE revocation_hash IS NULL "
                "ORDER BY id LIMIT :limit"
            ),
            {"limit": _BATCH},
        ).all()
        if not rows:
            return
        for permission_id, context in rows:
            # Every stored context passed validation at checkout: it decodes, root last.
            root = decode_permission_context(bytes(context))[-1]
            connection.execute(
                sa.text("UPDATE permissions SET revocation_hash = :hash WHERE id = :id"),
                {"hash": "0x" + hash_delegation(root).hex(), "id": permission_id},
            )


def downgrade() -> None:
    op.drop_index("ix_permissions_expiry_unnotified", table_name="permissions")
    op.drop_index("ix_permissions_chain_id_revocation_hash", table_name="permissions")
    op.drop_column("permissions", "revocation_hash")
    op.drop_column("permissions", "expiry_notified_at")
    op.drop_table("chain_cursors")
