from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base

REPLAY_WINDOW = timedelta(hours=24)
"""How long a stored response is replayed; older rows are ignored and purged by the worker."""


class IdempotencyKey(Base):
    """The stored first response to a POST sent with an ``Idempotency-Key``, per caller.

    The caller (`principal_id`) is the API key (``key_…``) for API-key requests and the account
    (``acct_…``) for requests signed in with a session token.

    Written in the same transaction as the request's own changes, so either both the changes and
    this record exist or neither does: a replay can never describe work that did not happen.
    Rows older than `REPLAY_WINDOW` are ignored and purged.
    """

    __tablename__ = "idempotency_keys"

    principal_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_method: Mapped[str] = mapped_column(String(10), nullable=False)
    request_path: Mapped[str] = mapped_column(Text, nullable=False)
    # SHA-256 of method, path and the canonical JSON body: "the same request" means this matches.
    request_fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    request_id: Mapped[str] = mapped_column(String(128), nullable=False)
    response_status: Mapped[int] = mapped_column(Integer, nullable=False)
    response_body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
