"""SQL for products and prices. Every query goes through `scoped`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, scoped
from cyphera.kit.pagination import Page, PageRequest, paginate
from cyphera.models.price import Price, PriceType
from cyphera.models.product import Product


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, product: Product) -> None:
        self.session.add(product)

    async def get(
        self, scope: Scope, product_id: str, *, for_update: bool = False
    ) -> Product | None:
        statement = scoped(select(Product), scope).where(Product.id == product_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def list(
        self, scope: Scope, *, page: PageRequest, active: bool | None = None
    ) -> Page[Product]:
        statement = scoped(select(Product), scope)
        if active is not None:
            statement = statement.where(Product.active.is_(active))
        return await paginate(
            self.session,
            statement,
            order=(Product.created_at, Product.id),
            page=page,
            cursor_query=scoped(select(Product.created_at, Product.id), scope),
        )


class PriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, price: Price) -> None:
        self.session.add(price)

    async def get(self, scope: Scope, price_id: str, *, for_update: bool = False) -> Price | None:
        statement = scoped(select(Price), scope).where(Price.id == price_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def list(
        self,
        scope: Scope,
        *,
        page: PageRequest,
        active: bool | None = None,
        product_id: str | None = None,
        type: PriceType | None = None,
    ) -> Page[Price]:
        statement = scoped(select(Price), scope)
        if active is not None:
            statement = statement.where(Price.active.is_(active))
        if product_id is not None:
            statement = statement.where(Price.product_id == product_id)
        if type is not None:
            statement = statement.where(Price.type == type)
        return await paginate(
            self.session,
            statement,
            order=(Price.created_at, Price.id),
            page=page,
            cursor_query=scoped(select(Price.created_at, Price.id), scope),
        )
