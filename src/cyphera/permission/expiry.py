"""Permissions about to expire: one ``permission.expiring`` event each, some days ahead.

A permission is valid on chain until its ``expires_at`` (the Timestamp caveat); after that every
charge under it is refused, and billing already ends its subscriptions' dunning with
``permission_expired`` (`cyphera.subscription.billing.unusable_code`). Before that, the merchant
is told once, `notice` ahead (``CYPHERA_BILLING__PERMISSION_EXPIRY_NOTICE_DAYS``, 7 by default),
so the customer can be asked to grant a new permission in time. Only permissions still in use
count: active and not replaced by a larger grant. ``expiry_notified_at`` records the event; rows
are claimed with ``FOR UPDATE SKIP LOCKED``, so two workers never notify twice.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.event import service as events
from cyphera.kit.clock import Clock, to_unix
from cyphera.models import Permission
from cyphera.models.permission import PermissionStatus

TASK = "permission.notify_expiring"
DEFAULT_NOTICE = timedelta(days=7)
BATCH = 200


async def notify_expiring(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    notice: timedelta = DEFAULT_NOTICE,
    limit: int = BATCH,
) -> list[str]:
    """Record ``permission.expiring`` for permissions expiring within `notice`; returns their ids."""
    now = clock.now()
    notified: list[str] = []
    async with transaction(sessionmaker) as session:
        due = await session.scalars(
            select(Permission)
            .where(
                Permission.status == PermissionStatus.ACTIVE,
                Permission.replaced_by_id.is_(None),
                Permission.expiry_notified_at.is_(None),
                Permission.expires_at > now,
                Permission.expires_at <= now + notice,
            )
            .order_by(Permission.expires_at, Permission.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for permission in due.all():
            permission.expiry_notified_at = now
            await events.record(
                session,
                workspace_id=permission.workspace_id,
                mode=permission.mode,
                type="permission.expiring",
                object_id=permission.id,
                data={
                    "customer": permission.customer_id,
                    "network": permission.network,
                    "expires_at": to_unix(permission.expires_at),
                    "delegation_hash": permission.delegation_hash,
                },
            )
            notified.append(permission.id)
    return notified
