"""SQL for API keys."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, WorkspaceScope, scoped, workspace_scoped
from cyphera.kit.pagination import Page, PageRequest, paginate
from cyphera.models.api_key import ApiKey
from cyphera.models.mixins import Mode


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_secret_hash(self, secret_hash: str) -> ApiKey | None:
        """The key with this hash, in any workspace.

        The one deliberately unscoped lookup: it is how a request's scope is found.
        """
        return await self.session.scalar(select(ApiKey).where(ApiKey.secret_hash == secret_hash))

    async def get(self, scope: Scope, api_key_id: str) -> ApiKey | None:
        return await self.session.scalar(
            scoped(select(ApiKey), scope).where(ApiKey.id == api_key_id)
        )

    async def list(self, scope: Scope, *, page: PageRequest) -> Page[ApiKey]:
        return await paginate(
            self.session,
            scoped(select(ApiKey), scope),
            order=(ApiKey.created_at, ApiKey.id),
            page=page,
            cursor_query=scoped(select(ApiKey.created_at, ApiKey.id), scope),
        )

    async def get_many_in_workspace(
        self, scope: WorkspaceScope, api_key_ids: Collection[str]
    ) -> Sequence[ApiKey]:
        """The workspace's keys among `api_key_ids`, in either mode (revoked ones too)."""
        if not api_key_ids:
            return ()
        found = await self.session.scalars(
            workspace_scoped(select(ApiKey), scope).where(ApiKey.id.in_(api_key_ids))
        )
        return found.all()

    async def get_in_workspace(self, scope: WorkspaceScope, api_key_id: str) -> ApiKey | None:
        """A key of the workspace, in either mode (for members managing keys)."""
        return await self.session.scalar(
            workspace_scoped(select(ApiKey), scope).where(ApiKey.id == api_key_id)
        )

    async def list_in_workspace(
        self, scope: WorkspaceScope, *, page: PageRequest, mode: Mode | None = None
    ) -> Page[ApiKey]:
        """The workspace's keys of both modes (or of `mode`), newest first."""
        statement = workspace_scoped(select(ApiKey), scope)
        if mode is not None:
            statement = statement.where(ApiKey.mode == mode)
        return await paginate(
            self.session,
            statement,
            order=(ApiKey.created_at, ApiKey.id),
            page=page,
            cursor_query=workspace_scoped(select(ApiKey.created_at, ApiKey.id), scope),
        )

    def add(self, api_key: ApiKey) -> None:
        self.session.add(api_key)

    async def touch(self, api_key_id: str, *, at: datetime, resolution: timedelta) -> None:
        """Record a use at `at`, unless one was recorded less than `resolution` ago.

        ``SKIP LOCKED``: when another request is recording a use of the same key right now, this
        one skips instead of queueing behind that request's transaction, so a busy key never
        serialises its own requests on its row.
        """
        due = (
            select(ApiKey.id)
            .where(
                ApiKey.id == api_key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= at - resolution),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == due)
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )
