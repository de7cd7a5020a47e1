"""SQL for customers. Every query goes through `scoped`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, scoped
from cyphera.kit.pagination import Page, PageRequest, paginate
from cyphera.models import Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_unless_address_taken(
        self,
        scope: Scope,
        *,
        customer_id: str,
        address: str,
        email: str | None,
        metadata: dict[str, Any],
        at: datetime,
    ) -> bool:
        """Insert a customer; False (and nothing written) if the address is already a customer.

        ``ON CONFLICT DO NOTHING`` on the (workspace, mode, address) unique key: two concurrent
        creations of one address give one customer and one clean conflict, never a 500.
        """
        inserted = await self.session.scalar(
            insert(Customer)
            .values(
                id=customer_id,
                **scope.tenant_columns(),
                address=address,
                email=email,
                metadata=metadata,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "mode", "address"])
            .returning(Customer.id)
        )
        return inserted is not None

    async def get(
        self, scope: Scope, customer_id: str, *, for_update: bool = False
    ) -> Customer | None:
        statement = scoped(select(Customer), scope).where(Customer.id == customer_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def get_by_address(self, scope: Scope, address: str) -> Customer | None:
        return await self.session.scalar(
            scoped(select(Customer), scope).where(Customer.address == address)
        )

    async def list(
        self,
        scope: Scope,
        *,
        page: PageRequest,
        address: str | None = None,
        email: str | None = None,
    ) -> Page[Customer]:
        statement = scoped(select(Customer), scope)
        if address is not None:
            statement = statement.where(Customer.address == address)
        if email is not None:
            statement = statement.where(Customer.email == email)
        return await paginate(
            self.session,
            statement,
            order=(Customer.created_at, Customer.id),
            page=page,
            cursor_query=scoped(select(Customer.created_at, Customer.id), scope),
        )
