"""``/v1/permissions``: customers' on-chain grants, read-only.

Permissions are created by checkout (the customer's wallet grants them) and end on-chain (revoked,
expired, used up); the API reads them. Each is shown decoded from its signed permission context.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.kit.pagination import ListObject
from cyphera.network.dependencies import NetworkRegistryDep
from cyphera.permission import service
from cyphera.permission.schemas import Permission, PermissionListParams

router = APIRouter(tags=["Permissions"])

PERMISSIONS = "/v1/permissions"


@router.get(PERMISSIONS, summary="List permissions")
async def list_permissions(
    params: Annotated[PermissionListParams, Query()],
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    registry: NetworkRegistryDep,
) -> ListObject[Permission]:
    now = clock.now()
    page = await service.list_permissions(
        session,
        scope=auth.scope,
        page=params.page_request(),
        at=now,
        customer_id=params.customer,
        status=params.status,
        network=params.network,
    )
    return ListObject[Permission](
        data=[
            Permission.from_model(p, service.describe(p, registry=registry), now=now)
            for p in page.items
        ],
        has_more=page.has_more,
        url=PERMISSIONS,
    )


@router.get(PERMISSIONS + "/{permission_id}", summary="Retrieve a permission")
async def get_permission(
    permission_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    registry: NetworkRegistryDep,
) -> Permission:
    permission = await service.get_permission(
        session, scope=auth.scope, permission_id=permission_id
    )
    return Permission.from_model(
        permission, service.describe(permission, registry=registry), now=clock.now()
    )
