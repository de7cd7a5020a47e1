"""SQL for accounts, their sessions, SIWE nonces and workspace memberships."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import WorkspaceScope, workspace_scoped
from cyphera.kit.ids import new_id
from cyphera.kit.pagination import Page, PageRequest, paginate
from cyphera.models.account import Account
from cyphera.models.account_session import AccountSession
from cyphera.models.member import Member, MemberRole
from cyphera.models.siwe_nonce import SiweNonce
from cyphera.models.workspace import Workspace

ACCOUNT_ID_PREFIX = "acct"
MEMBER_ID_PREFIX = "mem"


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, account_id: str) -> Account | None:
        return await self.session.get(Account, account_id)

    async def get_many(self, account_ids: Collection[str]) -> list[Account]:
        if not account_ids:
            return []
        return list(await self.session.scalars(select(Account).where(Account.id.in_(account_ids))))

    async def get_or_create_by_wallet(self, address: str, *, at: datetime) -> Account:
        """The account of `address`, created if new; race-free (``ON CONFLICT DO NOTHING``)."""
        await self.session.execute(
            insert(Account)
            .values(
                id=new_id(ACCOUNT_ID_PREFIX), wallet_address=address, created_at=at, updated_at=at
            )
            .on_conflict_do_nothing(index_elements=[Account.wallet_address])
        )
        account = await self.session.scalar(
            select(Account).where(Account.wallet_address == address)
        )
        assert account is not None
        return account

    async def get_or_create_by_oidc(
        self, issuer: str, subject: str, *, email: str | None, at: datetime
    ) -> Account:
        """The account of (`issuer`, `subject`), created if new; its email follows the token's."""
        await self.session.execute(
            insert(Account)
            .values(
                id=new_id(ACCOUNT_ID_PREFIX),
                oidc_issuer=issuer,
                oidc_subject=subject,
                email=email,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=[Account.oidc_issuer, Account.oidc_subject])
        )
        account = await self.session.scalar(
            select(Account).where(Account.oidc_issuer == issuer, Account.oidc_subject == subject)
        )
        assert account is not None
        if email is not None and account.email != email:
            account.email = email
            account.updated_at = at
        return account

    async def get_by_wallet(self, address: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.wallet_address == address))


class AccountSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, account_session: AccountSession) -> None:
        self.session.add(account_session)

    async def get_by_token_hash(self, token_hash: str) -> AccountSession | None:
        return await self.session.scalar(
            select(AccountSession).where(AccountSession.token_hash == token_hash)
        )

    async def get(self, session_id: str) -> AccountSession | None:
        return await self.session.get(AccountSession, session_id)


class SiweNonceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, nonce: SiweNonce) -> None:
        self.session.add(nonce)

    async def consume(self, nonce: str, *, at: datetime) -> bool:
        """Mark `nonce` used if it is unused and unexpired; whether it was.

        One ``UPDATE … WHERE used_at IS NULL``: of two requests presenting the same nonce, the
        second waits on the first's row lock and then finds it used.
        """
        consumed = await self.session.scalar(
            update(SiweNonce)
            .where(SiweNonce.nonce == nonce, SiweNonce.used_at.is_(None), SiweNonce.expires_at > at)
            .values(used_at=at)
            .returning(SiweNonce.nonce)
        )
        return consumed is not None

    async def get(self, nonce: str) -> SiweNonce | None:
        return await self.session.get(SiweNonce, nonce)

    async def purge_expired(self, *, at: datetime) -> int:
        result = await self.session.execute(delete(SiweNonce).where(SiweNonce.expires_at <= at))
        return int(getattr(result, "rowcount", 0) or 0)


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, member: Member) -> None:
        self.session.add(member)

    async def membership(self, *, account_id: str, workspace_id: str) -> Member | None:
        """The account's membership of the workspace, or None: the check every session request passes."""
        return await self.session.scalar(
            select(Member).where(
                Member.account_id == account_id, Member.workspace_id == workspace_id
            )
        )

    async def get(
        self, scope: WorkspaceScope, member_id: str, *, for_update: bool = False
    ) -> Member | None:
        statement = workspace_scoped(select(Member), scope).where(Member.id == member_id)
        if for_update:
            # Locked rows are read afresh: the session may hold this member from before the lock.
            statement = statement.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(statement)

    async def list_page(self, scope: WorkspaceScope, *, page: PageRequest) -> Page[Member]:
        return await paginate(
            self.session,
            workspace_scoped(select(Member), scope),
            order=(Member.created_at, Member.id),
            page=page,
            cursor_query=workspace_scoped(select(Member.created_at, Member.id), scope),
        )

    async def count_owners(self, scope: WorkspaceScope) -> int:
        owners = await self.session.scalars(
            workspace_scoped(select(Member.id), scope).where(Member.role == MemberRole.OWNER)
        )
        return len(owners.all())

    async def delete(self, member: Member) -> None:
        await self.session.delete(member)

    async def workspaces_page(
        self, account_id: str, *, page: PageRequest
    ) -> tuple[list[tuple[Workspace, Member]], bool]:
        """A page of the workspaces the account is a member of, with the membership, newest
        membership first; the cursors are workspace ids (of the account's own workspaces only)."""
        mine = Member.account_id == account_id
        found = await paginate(
            self.session,
            select(Member).where(mine),
            order=(Member.created_at, Member.workspace_id),
            page=page,
            cursor_query=select(Member.created_at, Member.workspace_id).where(mine),
        )
        ids = [m.workspace_id for m in found.items]
        workspaces = {
            w.id: w
            for w in (await self.session.scalars(select(Workspace).where(Workspace.id.in_(ids))))
        }
        return [(workspaces[m.workspace_id], m) for m in found.items], found.has_more

    async def lock_workspace(self, workspace_id: str) -> None:
        """Serialise membership changes of one workspace (so "the last owner" stays true)."""
        await self.session.execute(
            select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
        )
