"""coupons, subscription discounts and invoice line items

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUPON_DURATION = postgresql.ENUM(
    "once", "repeating", "forever", name="coupon_duration", create_type=False
)
_LINE_KIND = postgresql.ENUM(
    "subscription", "proration", "discount", name="invoice_line_kind", create_type=False
)
_MODE = postgresql.ENUM("test", "live", name="mode", create_type=False)


def _tenant(table: str) -> list[sa.Column[object]]:
    return [
        sa.Column(
            "workspace_id",
            sa.String(length=40),
            sa.ForeignKey(
                "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="RESTRICT"
            ),
            nullable=False,
        ),
        sa.Column("mode", _MODE, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    _COUPON_DURATION.create(bind, checkfirst=False)
    _LINE_KIND.create(bind, checkfirst=False)

    op.create_table(
        "coupons",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("percent_off_bp", sa.Integer(), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("duration", _COUPON_DURATION, nullable=False),
        sa.Column("duration_in_months", sa.Integer(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("redeem_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("valid", sa.Boolean(), server_default="t", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        *_tenant("coupons"),
        sa.PrimaryKeyConstraint("id", name="pk_coupons"),
    )
    op.create_index("ix_coupons_workspace_id", "coupons", ["workspace_id"])

    op.create_table(
        "discounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column(
            "coupon_id",
            sa.String(length=40),
            sa.ForeignKey("coupons.id", name="fk_discounts_coupon_id_coupons"),
            nullable=False,
        ),
        sa.Column(
            "subscription_id",
            sa.String(length=40),
            sa.ForeignKey("subscriptions.id", name="fk_discounts_subscription_id_subscriptions"),
            nullable=False,
        ),
        sa.Column(
            "customer_id",
            sa.String(length=40),
            sa.ForeignKey("customers.id", name="fk_discounts_customer_id_customers"),
            nullable=False,
        ),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant("discounts"),
        sa.PrimaryKeyConstraint("id", name="pk_discounts"),
    )
    op.create_index("ix_discounts_workspace_id", "discounts", ["workspace_id"])
    op.create_index("ix_discounts_subscription_id", "discounts", ["subscription_id"])
    op.create_index(
        "uq_discounts_current_subscription",
        "discounts",
        ["subscription_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )

    op.create_table(
        "invoice_line_items",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column(
            "invoice_id",
            sa.String(length=40),
            sa.ForeignKey("invoices.id", name="fk_invoice_line_items_invoice_id_invoices"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", _LINE_KIND, nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column(
            "price_id",
            sa.String(length=40),
            sa.ForeignKey("prices.id", name="fk_invoice_line_items_price_id_prices"),
            nullable=True,
        ),
        sa.Column(
            "discount_id",
            sa.String(length=40),
            sa.ForeignKey("discounts.id", name="fk_invoice_line_items_discount_id_discounts"),
            nullable=True,
        ),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("unit_amount", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        *_tenant("invoice_line_items"),
        sa.PrimaryKeyConstraint("id", name="pk_invoice_line_items"),
    )
    op.create_index("ix_invoice_line_items_workspace_id", "invoice_line_items", ["workspace_id"])
    op.create_index("ix_invoice_line_items_invoice_id", "invoice_line_items", ["invoice_id"])

    op.add_column(
        "checkout_sessions",
        sa.Column(
            "coupon_id",
            sa.String(length=40),
            sa.ForeignKey("coupons.id", name="fk_checkout_sessions_coupon_id_coupons"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("checkout_sessions", "coupon_id")
    op.drop_table("invoice_line_items")
    op.drop_table("discounts")
    op.drop_table("coupons")
    bind = op.get_bind()
    _LINE_KIND.drop(bind, checkfirst=False)
    _COUPON_DURATION.drop(bind, checkfirst=False)
