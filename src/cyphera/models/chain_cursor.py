from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cyphera.db.base import Base


class ChainCursor(Base):
    """How far a reader has read a network's chain: every block up to ``last_block`` has been
    applied (`cyphera.chain.follow`). One row per reader and network: the revocation watch's key is
    the network key, other readers' add a prefix (``reconciliation:<network>``); ``chain_id``
    guards against a key being pointed at another chain."""

    __tablename__ = "chain_cursors"

    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
