"""checkout sessions remember the customer's email given at creation

A merchant making a checkout session (from the dashboard or ``POST /v1/checkout/sessions``) may
know the customer's email before their wallet: it is kept on the session and given to the
customer when the session completes, if they have none yet.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("checkout_sessions", sa.Column("customer_email", sa.String(320), nullable=True))


def downgrade() -> None:
    op.drop_column("checkout_sessions", "customer_email")
