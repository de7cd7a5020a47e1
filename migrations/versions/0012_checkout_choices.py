"""checkout sessions offer networks and tokens; terms are fixed when the session is prepared

A session is now created for a price and the networks and tokens the merchant accepts, before the
customer's wallet is known. Its terms (network, token, payee, delegate, window, delegation…) are
null until it is prepared, and then all set: a check constraint holds them together.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM_COLUMNS = (
    "network",
    "chain_id",
    "token_symbol",
    "token_address",
    "token_decimals",
    "payee",
    "delegate",
    "delegation_manager",
    "period_amount",
    "period_seconds",
    "start_at",
    "permission_expires_at",
    "delegation",
)


def upgrade() -> None:
    for column in ("accepted_networks", "accepted_tokens"):
        op.add_column(
            "checkout_sessions",
            sa.Column(column, postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        )
    # Every existing session was created for one network and token.
    op.execute(
        "UPDATE checkout_sessions SET accepted_networks = jsonb_build_array(network), "
        "accepted_tokens = jsonb_build_array(token_symbol)"
    )
    for column in ("accepted_networks", "accepted_tokens"):
        op.alter_column("checkout_sessions", column, nullable=False)
    op.add_column(
        "checkout_sessions",
        sa.Column(
            "customer_address_fixed", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    for column in (*TERM_COLUMNS, "customer_address"):
        op.alter_column("checkout_sessions", column, nullable=True)
    op.create_check_constraint(
        op.f("ck_checkout_sessions_terms_all_or_none"),
        "checkout_sessions",
        f"num_nulls({', '.join(TERM_COLUMNS)}) IN (0, {len(TERM_COLUMNS)})",
    )
    op.create_check_constraint(
        op.f("ck_checkout_sessions_terms_have_customer"),
        "checkout_sessions",
        "delegation IS NULL OR customer_address IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_checkout_sessions_terms_have_customer"), "checkout_sessions", type_="check"
    )
    op.drop_constraint(
        op.f("ck_checkout_sessions_terms_all_or_none"), "checkout_sessions", type_="check"
    )
    # Sessions never prepared cannot be represented before this revision: nothing was signed
    # for them, so they are dropped (a subscription's pending session is always prepared).
    op.execute("DELETE FROM checkout_sessions WHERE delegation IS NULL")
    for column in (*TERM_COLUMNS, "customer_address"):
        op.alter_column("checkout_sessions", column, nullable=False)
    op.drop_column("checkout_sessions", "customer_address_fixed")
    op.drop_column("checkout_sessions", "accepted_tokens")
    op.drop_column("checkout_sessions", "accepted_networks")
