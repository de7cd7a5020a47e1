"""Subscriptions as the dashboard lists them: one page, with each one's customer, price, product.

The page is the API's (`list_scoped`: newest first, cursor-paged on ``(created_at, id)``, which
an index serves however many subscriptions the workspace has); the related rows of that page are
read with one query each, in the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from eth_utils.address import is_hex_address, to_checksum_address
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import list_scoped
from cyphera.auth.scope import Scope, scoped
from cyphera.kit.pagination import PageRequest
from cyphera.models import Customer, Price, Product, Subscription
from cyphera.models.subscription import SubscriptionStatus

M = TypeVar("M", Customer, Price, Product)


@dataclass(frozen=True, slots=True)
class Row:
    subscription: Subscription
    customer: Customer
    price: Price
    product: Product


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[Row]
    has_more: bool


async def page_of(
    session: AsyncSession,
    *,
    scope: Scope,
    page: PageRequest,
    status: SubscriptionStatus | None = None,
    search: str | None = None,
) -> Listing:
    """A page of the scope's subscriptions; `search` is a subscription id or a wallet address."""
    filters: list[ColumnElement[bool]] = []
    if status is not None:
        filters.append(Subscription.status == status)
    if search:
        term = search.strip()
        if term.lower().startswith("0x"):
            # Addresses are stored checksummed: an exact match uses the customers' unique index.
            address = to_checksum_address(term) if is_hex_address(term) else term
            owners = scoped(select(Customer.id).where(Customer.address == address), scope)
            filters.append(Subscription.customer_id.in_(owners))
        else:
            filters.append(Subscription.id == term)
    found = await list_scoped(session, Subscription, scope, page, *filters)
    subscriptions = list(found.items)
    customers = await _by_id(session, scope, Customer, {s.customer_id for s in subscriptions})
    prices = await _by_id(session, scope, Price, {s.price_id for s in subscriptions})
    products = await _by_id(session, scope, Product, {p.product_id for p in prices.values()})
    rows = [
        Row(
            subscription=s,
            customer=customers[s.customer_id],
            price=prices[s.price_id],
            product=products[prices[s.price_id].product_id],
        )
        for s in subscriptions
    ]
    return Listing(rows=rows, has_more=found.has_more)


async def _by_id(
    session: AsyncSession, scope: Scope, model: type[M], ids: set[str]
) -> dict[str, M]:
    if not ids:
        return {}
    found = await session.scalars(scoped(select(model).where(model.id.in_(ids)), scope))
    return {row.id: row for row in found}
