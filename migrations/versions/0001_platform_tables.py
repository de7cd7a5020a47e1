"""platform tables

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("invoice_sequence", sa.Integer(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
        sa.Column("kind", sa.Enum("secret", "restricted", name="api_key_kind"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("redacted", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
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
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_api_keys_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    op.create_index(op.f("ix_api_keys_workspace_id"), "api_keys", ["workspace_id"], unique=False)
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
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
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_customers_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "workspace_id", "mode", "address", name=op.f("uq_customers_workspace_id_mode_address")
        ),
    )
    op.create_index(op.f("ix_customers_workspace_id"), "customers", ["workspace_id"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("object_id", sa.String(length=40), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
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
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_events_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_object_id"), "events", ["object_id"], unique=False)
    op.create_index(op.f("ix_events_type"), "events", ["type"], unique=False)
    op.create_index(op.f("ix_events_workspace_id"), "events", ["workspace_id"], unique=False)
    op.create_table(
        "payout_addresses",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
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
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_payout_addresses_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_addresses")),
        sa.UniqueConstraint(
            "workspace_id",
            "mode",
            "network",
            name=op.f("uq_payout_addresses_workspace_id_mode_network"),
        ),
    )
    op.create_index(
        op.f("ix_payout_addresses_workspace_id"), "payout_addresses", ["workspace_id"], unique=False
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
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
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_products_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_workspace_id"), "products", ["workspace_id"], unique=False)
    op.create_table(
        "permissions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Enum("eip712", "erc7715", name="permission_source"), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "revoked", "expired", "exhausted", name="permission_status"),
            nullable=False,
        ),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("delegate", sa.String(length=42), nullable=False),
        sa.Column("delegation_manager", sa.String(length=42), nullable=False),
        sa.Column("delegation_hash", sa.String(length=66), nullable=False),
        sa.Column("token_address", sa.String(length=42), nullable=False),
        sa.Column("token_symbol", sa.String(length=16), nullable=False),
        sa.Column("token_decimals", sa.Integer(), nullable=False),
        sa.Column("period_amount", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("period_seconds", sa.BigInteger(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payee", sa.String(length=42), nullable=False),
        sa.Column("context", sa.LargeBinary(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_permissions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_permissions_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permissions")),
        sa.UniqueConstraint(
            "chain_id", "delegation_hash", name=op.f("uq_permissions_chain_id_delegation_hash")
        ),
    )
    op.create_index(
        op.f("ix_permissions_customer_id"), "permissions", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_permissions_workspace_id"), "permissions", ["workspace_id"], unique=False
    )
    op.create_table(
        "prices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.Enum("recurring", "one_time", name="price_type"), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "recurring_interval",
            sa.Enum("day", "week", "month", "year", name="price_interval"),
            nullable=True,
        ),
        sa.Column("recurring_interval_count", sa.Integer(), nullable=True),
        sa.Column("trial_period_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
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
        sa.CheckConstraint(
            "(type = 'recurring') = "
            "(recurring_interval IS NOT NULL AND recurring_interval_count IS NOT NULL)",
            name=op.f("ck_prices_recurring_fields"),
        ),
        sa.CheckConstraint(
            "recurring_interval_count >= 1", name=op.f("ck_prices_interval_count_positive")
        ),
        sa.CheckConstraint("unit_amount >= 0", name=op.f("ck_prices_unit_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_prices_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_prices_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
    )
    op.create_index(op.f("ix_prices_product_id"), "prices", ["product_id"], unique=False)
    op.create_index(op.f("ix_prices_workspace_id"), "prices", ["workspace_id"], unique=False)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("price_id", sa.String(length=40), nullable=False),
        sa.Column("permission_id", sa.String(length=40), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "incomplete",
                "incomplete_expired",
                "trialing",
                "active",
                "past_due",
                "canceled",
                "unpaid",
                "paused",
                name="subscription_status",
            ),
            nullable=False,
        ),
        sa.Column("billing_anchor", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_subscriptions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permissions.id"],
            name=op.f("fk_subscriptions_permission_id_permissions"),
        ),
        sa.ForeignKeyConstraint(
            ["price_id"], ["prices.id"], name=op.f("fk_subscriptions_price_id_prices")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_subscriptions_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        op.f("ix_subscriptions_current_period_end"),
        "subscriptions",
        ["current_period_end"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subscriptions_customer_id"), "subscriptions", ["customer_id"], unique=False
    )
    op.create_index(op.f("ix_subscriptions_status"), "subscriptions", ["status"], unique=False)
    op.create_index(
        op.f("ix_subscriptions_workspace_id"), "subscriptions", ["workspace_id"], unique=False
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=True),
        sa.Column("period_index", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "open", "paid", "void", "uncollectible", name="invoice_status"),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_invoices_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_invoices_subscription_id_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_invoices_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "subscription_id", "period_index", name=op.f("uq_invoices_subscription_id_period_index")
        ),
        sa.UniqueConstraint(
            "workspace_id", "mode", "number", name=op.f("uq_invoices_workspace_id_mode_number")
        ),
    )
    op.create_index(
        op.f("ix_invoices_subscription_id"), "invoices", ["subscription_id"], unique=False
    )
    op.create_index(op.f("ix_invoices_workspace_id"), "invoices", ["workspace_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("permission_id", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "submitted", "succeeded", "failed", name="payment_status"),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("token_address", sa.String(length=42), nullable=False),
        sa.Column("payee", sa.String(length=42), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_payments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permissions.id"],
            name=op.f("fk_payments_permission_id_permissions"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_payments_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_invoice_id"), "payments", ["invoice_id"], unique=False)
    op.create_index(op.f("ix_payments_status"), "payments", ["status"], unique=False)
    op.create_index(op.f("ix_payments_workspace_id"), "payments", ["workspace_id"], unique=False)
    op.create_index(
        "uq_payments_invoice_in_flight",
        "payments",
        ["invoice_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'submitted')"),
    )
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "complete", "expired", name="checkout_session_status"),
            nullable=False,
        ),
        sa.Column("price_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("token_symbol", sa.String(length=16), nullable=False),
        sa.Column("token_address", sa.String(length=42), nullable=False),
        sa.Column("token_decimals", sa.Integer(), nullable=False),
        sa.Column("customer_address", sa.String(length=42), nullable=False),
        sa.Column("payee", sa.String(length=42), nullable=False),
        sa.Column("delegate", sa.String(length=42), nullable=False),
        sa.Column("delegation_manager", sa.String(length=42), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("period_amount", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("period_seconds", sa.BigInteger(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("billing_anchor", sa.DateTime(timezone=True), nullable=False),
        sa.Column("permission_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delegation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=True),
        sa.Column("success_url", sa.String(length=2048), nullable=True),
        sa.Column("cancel_url", sa.String(length=2048), nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.Enum("test", "live", name="mode"), nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
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
            ["price_id"], ["prices.id"], name=op.f("fk_checkout_sessions_price_id_prices")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_checkout_sessions_subscription_id_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_checkout_sessions_workspace_id_workspaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_sessions")),
    )
    op.create_index(
        op.f("ix_checkout_sessions_workspace_id"),
        "checkout_sessions",
        ["workspace_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_checkout_sessions_workspace_id"), table_name="checkout_sessions")
    op.drop_table("checkout_sessions")

    op.drop_index(
        "uq_payments_invoice_in_flight",
        table_name="payments",
        postgresql_where=sa.text("status IN ('pending', 'submitted')"),
    )
    op.drop_index(op.f("ix_payments_workspace_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_status"), table_name="payments")
    op.drop_index(op.f("ix_payments_invoice_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_invoices_workspace_id"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_subscription_id"), table_name="invoices")
    op.drop_table("invoices")
    op.drop_index(op.f("ix_subscriptions_workspace_id"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_status"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_customer_id"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_current_period_end"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_prices_workspace_id"), table_name="prices")
    op.drop_index(op.f("ix_prices_product_id"), table_name="prices")
    op.drop_table("prices")
    op.drop_index(op.f("ix_permissions_workspace_id"), table_name="permissions")
    op.drop_index(op.f("ix_permissions_customer_id"), table_name="permissions")
    op.drop_table("permissions")
    op.drop_index(op.f("ix_products_workspace_id"), table_name="products")
    op.drop_table("products")
    op.drop_index(op.f("ix_payout_addresses_workspace_id"), table_name="payout_addresses")
    op.drop_table("payout_addresses")
    op.drop_index(op.f("ix_events_workspace_id"), table_name="events")
    op.drop_index(op.f("ix_events_type"), table_name="events")
    op.drop_index(op.f("ix_events_object_id"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_customers_workspace_id"), table_name="customers")
    op.drop_table("customers")
    op.drop_index(op.f("ix_api_keys_workspace_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("workspaces")
    for enum_name in (
        "checkout_session_status",
        "mode",
        "api_key_kind",
        "permission_source",
        "permission_status",
        "price_type",
        "price_interval",
        "subscription_status",
        "invoice_status",
        "payment_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")
