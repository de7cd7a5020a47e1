"""Events: every state change that matters writes one, in the same transaction as the change.

The events table is the outbox webhooks are delivered from (a later worker task), so an event can
never describe a change that rolled back, and a committed change always has its event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, scoped
from cyphera.kit.ids import new_id
from cyphera.models import Event
from cyphera.models.mixins import Mode


async def record(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    type: str,
    object_id: str,
    data: dict[str, Any],
) -> Event:
    """Add an event of `type` (``subscription.created``, ``payment.succeeded``, …) about `object_id`."""
    event = Event(
        id=new_id("evt"),
        workspace_id=workspace_id,
        mode=mode,
        type=type,
        object_id=object_id,
        data=data,
    )
    session.add(event)
    return event


async def of_object(
    session: AsyncSession, *, scope: Scope, object_id: str, limit: int = 50
) -> list[Event]:
    """The scope's events about `object_id`, newest first: an object's timeline."""
    found = await session.scalars(
        scoped(select(Event).where(Event.object_id == object_id), scope)
        .order_by(Event.sequence.desc())
        .limit(limit)
    )
    return list(found)
