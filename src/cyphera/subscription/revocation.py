"""A permission revoked on chain: recorded once, and every subscription charged under it ends.

`record_revocation` is what follows a revocation read from the chain (the portal's "revoke",
and the processor's watch of ``DisabledDelegation`` events): the permission becomes
``revoked`` (``permission.revoked``), and each live subscription using it is canceled now with
the reason ``permission_revoked``: its open invoices are voided (one whose payment is already in
flight is settled by that payment, which the chain will refuse), and nothing is renewed or
charged again — the signer refuses charges under a permission that is not active.

Locks in the order collection uses: the subscriptions (by id), then the permission, then the
invoices and payments `dunning.close_open_invoices` takes. Recording twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.event import service as events
from cyphera.models import Permission, Subscription
from cyphera.models.permission import PermissionStatus
from cyphera.subscription import dunning, lifecycle

PERMISSION_REVOKED = "permission_revoked"


async def record_revocation(
    session: AsyncSession, *, permission_id: str, at: datetime
) -> list[Subscription]:
    """Mark `permission_id` revoked as of `at` and end its subscriptions; returns those ended."""
    live = (
        (
            await session.execute(
                select(Subscription)
                .where(
                    Subscription.permission_id == permission_id,
                    Subscription.status.not_in(lifecycle.TERMINAL),
                )
                .order_by(Subscription.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    permission = (
        await session.execute(
            select(Permission).where(Permission.id == permission_id).with_for_update()
        )
    ).scalar_one()
    if permission.status is not PermissionStatus.REVOKED:
        permission.status = PermissionStatus.REVOKED
        permission.revoked_at = at
        await events.record(
            session,
            workspace_id=permission.workspace_id,
            mode=permission.mode,
            type="permission.revoked",
            object_id=permission.id,
            data={
                "customer": permission.customer_id,
                "delegation_hash": permission.delegation_hash,
            },
        )
    for subscription in live:
        await dunning.close_open_invoices(session, subscription)
        await lifecycle.transition(
            session, subscription, lifecycle.S.CANCELED, at=at, reason=PERMISSION_REVOKED
        )
    return list(live)
