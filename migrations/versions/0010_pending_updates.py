"""price changes waiting for the customer to grant a larger permission

A subscription's ``pending_*`` columns hold a price change that needs a new on-chain permission;
the checkout session of purpose ``subscription_update`` asks the customer for it, and the
permission it replaces points at its successor (``replaced_by_id``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSE = sa.Enum("subscription", "subscription_update", name="checkout_session_purpose")


def upgrade() -> None:
    PURPOSE.create(op.get_bind())
    op.add_column(
        "checkout_sessions",
        sa.Column("purpose", PURPOSE, server_default="subscription", nullable=False),
    )
    op.add_column("subscriptions", sa.Column("pending_price_id", sa.String(40), nullable=True))
    op.create_foreign_key(
        op.f("fk_subscriptions_pending_price_id_prices"),
        "subscriptions",
        "prices",
        ["pending_price_id"],
        ["id"],
    )
    op.add_column("subscriptions", sa.Column("pending_quantity", sa.Integer(), nullable=True))
    op.add_column(
        "subscriptions", sa.Column("pending_proration_behavior", sa.String(20), nullable=True)
    )
    op.add_column(
        "subscriptions", sa.Column("pending_checkout_session_id", sa.String(40), nullable=True)
    )
    op.add_column(
        "subscriptions", sa.Column("pending_checkout_url", sa.String(2100), nullable=True)
    )
    op.add_column(
        "subscriptions",
        sa.Column("pending_expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        op.f("ix_subscriptions_pending_expires_at"),
        "subscriptions",
        ["pending_expires_at"],
        unique=False,
    )
    op.add_column("permissions", sa.Column("replaced_by_id", sa.String(40), nullable=True))
    op.create_foreign_key(
        op.f("fk_permissions_replaced_by_id_permissions"),
        "permissions",
        "permissions",
        ["replaced_by_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_permissions_replaced_by_id_permissions"), "permissions", type_="foreignkey"
    )
    op.drop_column("permissions", "replaced_by_id")
    op.drop_index(op.f("ix_subscriptions_pending_expires_at"), table_name="subscriptions")
    for column in (
        "pending_expires_at",
        "pending_checkout_url",
        "pending_checkout_session_id",
        "pending_proration_behavior",
        "pending_quantity",
    ):
        op.drop_column("subscriptions", column)
    op.drop_constraint(
        op.f("fk_subscriptions_pending_price_id_prices"), "subscriptions", type_="foreignkey"
    )
    op.drop_column("subscriptions", "pending_price_id")
    op.drop_column("checkout_sessions", "purpose")
    PURPOSE.drop(op.get_bind())
