"""SQL for webhook endpoints. Every query goes through `scoped`; deleted endpoints are never read."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import list_scoped
from cyphera.auth.scope import Scope, scoped
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models.webhook_endpoint import WebhookEndpoint

_NOT_DELETED = WebhookEndpoint.deleted_at.is_(None)


class WebhookEndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, endpoint: WebhookEndpoint) -> None:
        self.session.add(endpoint)

    async def get(
        self, scope: Scope, endpoint_id: str, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        statement = scoped(select(WebhookEndpoint), scope).where(
            WebhookEndpoint.id == endpoint_id, _NOT_DELETED
        )
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def list(self, scope: Scope, *, page: PageRequest) -> Page[WebhookEndpoint]:
        return await list_scoped(self.session, WebhookEndpoint, scope, page, _NOT_DELETED)

    async def count(self, scope: Scope) -> int:
        statement = scoped(select(func.count()).select_from(WebhookEndpoint), scope)
        return await self.session.scalar(statement.where(_NOT_DELETED)) or 0

    async def lock_tenant(self, scope: Scope) -> None:
        """Serialise creations in `scope` until the transaction ends (so the limit holds)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"webhook_endpoints:{scope.workspace_id}:{scope.mode.value}"},
        )
