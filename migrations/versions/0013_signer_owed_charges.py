"""the signer redeems only what the books owe: a narrow view of in-flight payments

The signer holds the relayer key and must not trust its callers, token or not: a charge is
accepted only when an in-flight payment (pending or submitted) under an active permission names
the same idempotency key, chain, permission context, token, payee and amount. The signer reads
this one view, never the billing tables themselves; in production its database role can be
granted SELECT on it alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE VIEW signer_owed_charges AS
        SELECT payments.id AS idempotency_key,
               payments.chain_id,
               permissions.context AS permission_context,
               payments.token_address AS token,
               payments.payee,
               payments.amount
        FROM payments
        JOIN permissions ON permissions.id = payments.permission_id
        WHERE payments.status IN ('pending', 'submitted')
          AND permissions.status = 'active'
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW signer_owed_charges")
