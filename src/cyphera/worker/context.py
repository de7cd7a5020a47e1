"""What tasks need, handed to the worker once at start-up (procrastinate's additional context)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.networks import NetworkRegistry
from cyphera.kit.clock import Clock
from cyphera.kit.logs import Redactor
from cyphera.payment.gateway import ChargeGateway

CONTEXT_KEY = "cyphera"


@dataclass(frozen=True, slots=True)
class WorkerContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    gateway: ChargeGateway
    clock: Clock
    # The networks, for the test clocks' advance to move the local chain's time (none: it doesn't).
    registry: NetworkRegistry | None = None
    # The revocation watch: where it starts on a network it never read (`ChainSettings`).
    watch_start_blocks: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # How long before a permission expires ``permission.expiring`` is recorded.
    permission_expiry_notice: timedelta = timedelta(days=7)
    # What dead letters' error messages and tracebacks are cleaned with, as the logs are.
    redactor: Redactor = field(default_factory=Redactor)


def worker_context(job_context: procrastinate.JobContext) -> WorkerContext:
    """The `WorkerContext` the worker was started with, from a job's context."""
    context = job_context.additional_context[CONTEXT_KEY]
    assert isinstance(context, WorkerContext)
    return context
