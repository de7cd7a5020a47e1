"""Permissions: customers' on-chain grants, stored exactly as the server validated them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import get_scoped, list_scoped
from cyphera.auth.scope import Scope
from cyphera.chain.models import Token
from cyphera.chain.networks import NetworkRegistry
from cyphera.delegation.encoding import decode_permission_context
from cyphera.delegation.erc7715 import ValidatedPermission
from cyphera.delegation.hashing import hash_delegation
from cyphera.event import service as events
from cyphera.exceptions import NotFound
from cyphera.kit.clock import from_unix
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models import Customer, Permission
from cyphera.models.permission import PermissionSource, PermissionStatus
from cyphera.permission.decoding import DecodedPermission, decode_permission
from cyphera.permission.errors import PermissionMissing

PERMISSION_ID_PREFIX = "perm"


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
        id=new_id(PERMISSION_ID_PREFIX),
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
        revocation_hash=revocation_hash(validated.permission_context),
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


def revocation_hash(permission_context: bytes) -> str:
    """The hash of the customer's own delegation, the root (last) of a validated context: what
    ``disableDelegation`` disables and ``DisabledDelegation`` logs name."""
    return "0x" + hash_delegation(decode_permission_context(permission_context)[-1]).hex()


def is_usable(permission: Permission, *, at: datetime) -> bool:
    """Whether we may charge under `permission` at `at`: active, unexpired and not replaced by a
    larger grant (`replaced_by_id`; a stale delegation is never reused after a rotation)."""
    return (
        permission.status is PermissionStatus.ACTIVE
        and at < permission.expires_at
        and permission.replaced_by_id is None
    )


def effective_status(permission: Permission, *, at: datetime) -> PermissionStatus:
    """The status to show: a permission past its expiry is ``expired`` even while the row still
    says ``active`` (nothing rewrites rows the moment they expire)."""
    if permission.status is PermissionStatus.ACTIVE and at >= permission.expires_at:
        return PermissionStatus.EXPIRED
    return permission.status


def _status_filter(status: PermissionStatus, at: datetime) -> ColumnElement[bool]:
    # The SQL form of `effective_status`, so a filtered list agrees with what each object shows.
    if status is PermissionStatus.ACTIVE:
        return and_(Permission.status == PermissionStatus.ACTIVE, Permission.expires_at > at)
    if status is PermissionStatus.EXPIRED:
        return or_(
            Permission.status == PermissionStatus.EXPIRED,
            and_(Permission.status == PermissionStatus.ACTIVE, Permission.expires_at <= at),
        )
    return Permission.status == status


async def get_permission(
    session: AsyncSession, *, scope: Scope, permission_id: str, param: str = "id"
) -> Permission:
    """The scope's permission `permission_id`, or `PermissionMissing`."""
    if not has_prefix(permission_id, PERMISSION_ID_PREFIX):
        raise PermissionMissing(f"No such permission: {permission_id!r}", param=param)
    try:
        return await get_scoped(session, Permission, permission_id, scope, param=param)
    except NotFound:
        raise PermissionMissing(f"No such permission: {permission_id!r}", param=param) from None


async def list_permissions(
    session: AsyncSession,
    *,
    scope: Scope,
    page: PageRequest,
    at: datetime,
    customer_id: str | None = None,
    status: PermissionStatus | None = None,
    network: str | None = None,
) -> Page[Permission]:
    """The scope's permissions, newest first; `status` as `effective_status` tells it at `at`."""
    filters: list[ColumnElement[bool]] = []
    if customer_id is not None:
        filters.append(Permission.customer_id == customer_id)
    if status is not None:
        filters.append(_status_filter(status, at))
    if network is not None:
        filters.append(Permission.network == network)
    return await list_scoped(session, Permission, scope, page, *filters)


def describe(permission: Permission, *, registry: NetworkRegistry) -> DecodedPermission:
    """`permission`'s terms and caveats decoded from its signed context (`decoding`)."""
    network = registry.get(permission.network) if permission.network in registry else None
    return decode_permission(permission, network)
