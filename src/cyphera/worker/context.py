"""What tasks need, handed to the worker once at start-up (procrastinate's additional context)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.networks import NetworkRegistry
from cyphera.kit.clock import Clock
from cyphera.payment.gateway import ChargeGateway

CONTEXT_KEY = "cyphera"


@dataclass(frozen=True, slots=True)
class WorkerContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    gateway: ChargeGateway
    clock: Clock
    # The networks, for the test clocks' advance to move the local chain's time (none: it doesn't).
    registry: NetworkRegistry | None = None
