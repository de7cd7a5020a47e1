"""Permissions: customers' on-chain grants, stored exactly as the server validated them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.chain.models import Token
from cyphera.delegation.erc7715 import ValidatedPermission
from cyphera.event import service as events
from cyphera.kit.clock import from_unix
from cyphera.kit.ids import new_id
from cyphera.models import Customer, Permission
from cyphera.models.permission import PermissionSource, PermissionStatus


async def store(
    session: AsyncSession,
    *,
    customer: Customer,
    network: str,
    token: Token,
    validated: ValidatedPermission,
    source: PermissionSource,
) -> Permission:
    permission = Permission(
        id=new_id("perm"),
        workspace_id=customer.workspace_id,
        mode=customer.mode,
        customer_id=customer.id,
        network=network,
        chain_id=validated.chain_id,
        source=source,
        status=PermissionStatus.ACTIVE,
        account=validated.delegator,
        delegate=validated.redeemer,
        delegation_manager=validated.delegation_manager,
        delegation_hash="0x" + validated.delegation_hash.hex(),
        token_address=token.address,
        token_symbol=token.symbol,
        token_decimals=token.decimals,
        period_amount=validated.period_amount,
        period_seconds=validated.period_duration,
        start_at=from_unix(validated.start_date),
        expires_at=from_unix(validated.expiry),
        payee=validated.payee,
        context=validated.permission_context,
    )
    session.add(permission)
    await session.flush()
    await events.record(
        session,
        workspace_id=permission.workspace_id,
        mode=permission.mode,
        type="permission.granted",
        object_id=permission.id,
        data={
            "customer": customer.id,
            "network": network,
            "token": token.symbol,
            "period_amount": str(validated.period_amount),
            "period_seconds": validated.period_duration,
            "delegation_hash": permission.delegation_hash,
        },
    )
    return permission


def is_usable(permission: Permission, *, at: datetime) -> bool:
    return permission.status is PermissionStatus.ACTIVE and at < permission.expires_at
