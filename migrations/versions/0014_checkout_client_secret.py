"""checkout sessions carry a client secret: the capability of the hosted page

The hosted checkout page (`/pay/cs_…?key=…`) is public: the secret in its URL scopes the browser
to that one session. Only its SHA-256 is stored (hex), like API keys. Sessions made before this
revision (and subscription-update sessions) have none, so they have no hosted page.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "checkout_sessions", sa.Column("client_secret_hash", sa.String(64), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("checkout_sessions", "client_secret_hash")
