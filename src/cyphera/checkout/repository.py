"""The SQL of checkout sessions, shared by creation (`service`) and completion (`completion`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.checkout import errors
from cyphera.models import CheckoutSession
from cyphera.models.mixins import Mode


async def get_session(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    checkout_id: str,
    for_update: bool = False,
) -> CheckoutSession:
    """The workspace's session `checkout_id` in `mode` (locked ``FOR UPDATE`` when asked), or
    `CheckoutSessionNotFound`: another workspace's or mode's session is not found, never
    forbidden."""
    query = select(CheckoutSession).where(
        CheckoutSession.id == checkout_id,
        CheckoutSession.workspace_id == workspace_id,
        CheckoutSession.mode == mode,
    )
    if for_update:
        query = query.with_for_update()
    checkout = (await session.execute(query)).scalar_one_or_none()
    if checkout is None:
        raise errors.CheckoutSessionNotFound(f"no such checkout session: {checkout_id}")
    return checkout
