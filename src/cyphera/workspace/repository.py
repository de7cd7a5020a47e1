"""SQL for workspaces and payout addresses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, WorkspaceScope, scoped, workspace_scoped
from cyphera.kit.ids import new_id
from cyphera.kit.pagination import Page, PageRequest, paginate
from cyphera.models.account import Account
from cyphera.models.invitation import Invitation
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


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, invitation: Invitation) -> None:
        self.session.add(invitation)

    async def get(self, scope: WorkspaceScope, invitation_id: str) -> Invitation | None:
        return await self.session.scalar(
            workspace_scoped(select(Invitation), scope).where(Invitation.id == invitation_id)
        )

    async def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        """The invitation a token opens, in any workspace, locked: the token is the credential."""
        return await self.session.scalar(
            select(Invitation).where(Invitation.token_hash == token_hash).with_for_update()
        )

    async def list(self, scope: WorkspaceScope, *, page: PageRequest) -> Page[Invitation]:
        return await paginate(
            self.session,
            workspace_scoped(select(Invitation), scope),
            order=(Invitation.created_at, Invitation.id),
            page=page,
            cursor_query=workspace_scoped(select(Invitation.created_at, Invitation.id), scope),
        )


async def accounts_by_id(session: AsyncSession, account_ids: list[str]) -> dict[str, Account]:
    """The accounts of a page of members, in one query."""
    if not account_ids:
        return {}
    rows = await session.scalars(select(Account).where(Account.id.in_(account_ids)))
    return {account.id: account for account in rows.all()}
