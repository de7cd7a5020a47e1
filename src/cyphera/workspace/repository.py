"""SQL for workspaces and payout addresses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, scoped
from cyphera.kit.ids import new_id
from cyphera.models.payout_address import PayoutAddress
from cyphera.models.workspace import Workspace

PAYOUT_ADDRESS_ID_PREFIX = "payout"  # as the dev seed names them


class WorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, workspace: Workspace) -> None:
        self.session.add(workspace)

    async def get(self, workspace_id: str) -> Workspace | None:
        return await self.session.get(Workspace, workspace_id)


class PayoutAddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, scope: Scope) -> list[PayoutAddress]:
        """Every payout address of the scope, by network key (one per network at most)."""
        result = await self.session.scalars(
            scoped(select(PayoutAddress), scope).order_by(PayoutAddress.network)
        )
        return list(result.all())

    async def get(self, scope: Scope, network: str) -> PayoutAddress | None:
        return await self.session.scalar(
            scoped(select(PayoutAddress), scope).where(PayoutAddress.network == network)
        )

    async def upsert(
        self, scope: Scope, *, network: str, address: str, at: datetime
    ) -> PayoutAddress:
        """Set the scope's address on `network`, creating or replacing it in one statement.

        One ``INSERT … ON CONFLICT`` so two concurrent requests cannot both see "none yet" and
        collide on the unique (workspace, mode, network) constraint.
        """
        statement = (
            insert(PayoutAddress)
            .values(
                id=new_id(PAYOUT_ADDRESS_ID_PREFIX),
                **scope.tenant_columns(),
                network=network,
                address=address,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_update(
                index_elements=[
                    PayoutAddress.workspace_id,
                    PayoutAddress.mode,
                    PayoutAddress.network,
                ],
                set_={"address": address, "updated_at": at},
            )
            .returning(PayoutAddress)
        )
        result = await self.session.scalars(
            statement, execution_options={"populate_existing": True}
        )
        return result.one()
