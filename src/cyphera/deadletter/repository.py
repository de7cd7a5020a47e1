"""The SQL of dead letters: the capture's upsert, the operators' reads and locks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.models import (
    Customer,
    DeadLetter,
    Event,
    Invoice,
    Payment,
    Subscription,
    TestClock,
    WebhookEndpoint,
)
from cyphera.models.dead_letter import DeadLetterStatus
from cyphera.models.mixins import Mode

TenantModel = type[
    Customer | Event | Invoice | Payment | Subscription | TestClock | WebhookEndpoint
]

TENANT_ARGUMENTS: Mapping[str, TenantModel] = MappingProxyType(
    {
        "payment_id": Payment,
        "invoice_id": Invoice,
        "subscription_id": Subscription,
        "customer_id": Customer,
        "test_clock_id": TestClock,
        "event_id": Event,
        "endpoint_id": WebhookEndpoint,
        "webhook_endpoint_id": WebhookEndpoint,
    }
)
"""Task arguments that name a tenant's object, and its table: how a dead letter finds its owner."""

_FIRST_RETRY = text(
    "SELECT min(at) FROM procrastinate_events WHERE job_id = :job_id AND type = 'deferred_for_retry'"
)


async def tenant_of(session: AsyncSession, args: Mapping[str, Any]) -> tuple[str, Mode] | None:
    """The workspace and mode of the first object `args` names that exists; None: platform-level."""
    for name, model in TENANT_ARGUMENTS.items():
        value = args.get(name)
        if not isinstance(value, str):
            continue
        found = (
            await session.execute(select(model.workspace_id, model.mode).where(model.id == value))
        ).one_or_none()
        if found is not None:
            return found[0], found[1]
    return None


async def first_failure_at(session: AsyncSession, job_id: int) -> datetime | None:
    """When procrastinate first put `job_id` back for a retry: its first failed attempt."""
    at: datetime | None = (await session.execute(_FIRST_RETRY, {"job_id": job_id})).scalar()
    return at


async def upsert(session: AsyncSession, values: dict[str, Any]) -> tuple[DeadLetter, bool]:
    """Insert a dead letter; a periodic task's failure joins its open one instead.

    Returns the row and whether it was inserted. One statement, so two workers failing the same
    periodic task at once still leave one open row (the partial unique index).
    """
    statement = (
        insert(DeadLetter)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[DeadLetter.task_name],
            index_where=text("status = 'open' AND periodic"),
            set_={
                "attempts": DeadLetter.attempts + values["attempts"],
                "job_id": values["job_id"],
                "args": values["args"],
                "error_type": values["error_type"],
                "error_message": values["error_message"],
                "traceback": values["traceback"],
                "last_failed_at": func.greatest(
                    DeadLetter.last_failed_at, values["last_failed_at"]
                ),
            },
        )
        .returning(DeadLetter.id, text("xmax = 0"))
    )
    dead_letter_id, inserted = (await session.execute(statement)).one()
    dead_letter = await session.get_one(DeadLetter, dead_letter_id, populate_existing=True)
    return dead_letter, bool(inserted)


async def get(
    session: AsyncSession, dead_letter_id: str, *, for_update: bool = False
) -> DeadLetter | None:
    return await session.get(
        DeadLetter, dead_letter_id, with_for_update=for_update, populate_existing=for_update
    )


async def list_recent(
    session: AsyncSession, *, status: DeadLetterStatus | None, limit: int
) -> list[DeadLetter]:
    """Newest first, optionally of one status."""
    statement = select(DeadLetter).order_by(DeadLetter.created_at.desc(), DeadLetter.id.desc())
    if status is not None:
        statement = statement.where(DeadLetter.status == status)
    return list(await session.scalars(statement.limit(limit)))
