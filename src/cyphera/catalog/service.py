"""Products and prices.

Prices are immutable once created (Stripe's rule, and ours: a subscription's on-chain permission
was granted for that amount and period). Only ``active`` and ``metadata`` change; a new amount or
interval is a new price.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from cyphera.auth.scope import Scope
from cyphera.catalog.errors import (
    CurrencyUnsupported,
    PriceMissing,
    ProductInactive,
    ProductMissing,
)
from cyphera.catalog.repository import PriceRepository, ProductRepository
from cyphera.catalog.schemas import (
    PriceCreate,
    PriceUpdate,
    ProductCreate,
    ProductUpdate,
    RecurringCreate,
)
from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.metadata import MetadataTooLarge, merge_metadata
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models.price import Interval, Price, PriceType
from cyphera.models.product import Product

PRODUCT_ID_PREFIX = "prod"
PRICE_ID_PREFIX = "price"
SUPPORTED_CURRENCIES = ("usd",)
# Stripe's ceiling: a billing period is at most one year.
MAX_INTERVAL_COUNT = {Interval.DAY: 365, Interval.WEEK: 52, Interval.MONTH: 12, Interval.YEAR: 1}

log = structlog.get_logger(__name__)


async def create_product(
    session: AsyncSession, *, scope: Scope, data: ProductCreate, clock: Clock
) -> Product:
    """Create a product in the scope's workspace and mode."""
    now = clock.now()
    product = Product(
        id=new_id(PRODUCT_ID_PREFIX),
        **scope.tenant_columns(),
        name=data.name,
        description=data.description,
        active=data.active,
        metadata_=merge_metadata({}, data.metadata),
        created_at=now,
        updated_at=now,
    )
    ProductRepository(session).add(product)
    await session.flush()
    log.info("product.created", product_id=product.id, workspace_id=scope.workspace_id)
    return product


async def get_product(
    session: AsyncSession,
    *,
    scope: Scope,
    product_id: str,
    param: str = "id",
    for_update: bool = False,
) -> Product:
    """The scope's product `product_id`, or `ProductMissing` naming `param`."""
    product = None
    if has_prefix(product_id, PRODUCT_ID_PREFIX):
        product = await ProductRepository(session).get(scope, product_id, for_update=for_update)
    if product is None:
        raise ProductMissing(f"No such product: {product_id!r}", param=param)
    return product


async def list_products(
    session: AsyncSession, *, scope: Scope, page: PageRequest, active: bool | None = None
) -> Page[Product]:
    """The scope's products, newest first."""
    return await ProductRepository(session).list(scope, page=page, active=active)


async def update_product(
    session: AsyncSession, *, scope: Scope, product_id: str, data: ProductUpdate, clock: Clock
) -> Product:
    """Change the given fields of a product; ``metadata`` is merged (``""`` removes a key)."""
    # Locked: two concurrent metadata merges must not lose one another's keys.
    product = await get_product(session, scope=scope, product_id=product_id, for_update=True)
    given = data.model_fields_set
    if data.name is not None:
        product.name = data.name
    if "description" in given:
        product.description = data.description
    if data.active is not None:
        product.active = data.active
    if data.metadata is not None:
        product.metadata_ = _merged(product.metadata_, data.metadata)
    if given:
        _touch(product, clock)
    await session.flush()
    return product


async def create_price(
    session: AsyncSession, *, scope: Scope, data: PriceCreate, clock: Clock
) -> Price:
    """Create a price for one of the scope's active products."""
    currency = data.currency.lower()
    if currency not in SUPPORTED_CURRENCIES:
        raise CurrencyUnsupported(
            f"Unsupported currency {data.currency!r}; supported: {', '.join(SUPPORTED_CURRENCIES)}",
            param="currency",
        )
    price_type = _price_type(data)
    recurring = data.recurring
    if recurring is not None:
        _check_period(recurring)
    product = await get_product(session, scope=scope, product_id=data.product, param="product")
    if not product.active:
        raise ProductInactive(
            f"The product {product.id} is archived; reactivate it before adding prices",
            param="product",
        )
    now = clock.now()
    price = Price(
        id=new_id(PRICE_ID_PREFIX),
        **scope.tenant_columns(),
        product_id=product.id,
        type=price_type,
        unit_amount=data.unit_amount,
        currency=currency,
        recurring_interval=Interval(recurring.interval) if recurring else None,
        recurring_interval_count=recurring.interval_count if recurring else None,
        trial_period_days=recurring.trial_period_days if recurring else None,
        active=data.active,
        metadata_=merge_metadata({}, data.metadata),
        created_at=now,
        updated_at=now,
    )
    PriceRepository(session).add(price)
    await session.flush()
    log.info("price.created", price_id=price.id, workspace_id=scope.workspace_id)
    return price


async def get_price(
    session: AsyncSession, *, scope: Scope, price_id: str, for_update: bool = False
) -> Price:
    """The scope's price `price_id`, or `PriceMissing`."""
    price = None
    if has_prefix(price_id, PRICE_ID_PREFIX):
        price = await PriceRepository(session).get(scope, price_id, for_update=for_update)
    if price is None:
        raise PriceMissing(f"No such price: {price_id!r}", param="id")
    return price


async def list_prices(
    session: AsyncSession,
    *,
    scope: Scope,
    page: PageRequest,
    active: bool | None = None,
    product_id: str | None = None,
    type: PriceType | None = None,
) -> Page[Price]:
    """The scope's prices, newest first, optionally of one product, state or type."""
    return await PriceRepository(session).list(
        scope, page=page, active=active, product_id=product_id, type=type
    )


async def update_price(
    session: AsyncSession, *, scope: Scope, price_id: str, data: PriceUpdate, clock: Clock
) -> Price:
    """Change a price's ``active`` flag or ``metadata`` (merged); nothing else can change."""
    price = await get_price(session, scope=scope, price_id=price_id, for_update=True)
    if data.active is not None:
        price.active = data.active
    if data.metadata is not None:
        price.metadata_ = _merged(price.metadata_, data.metadata)
    if data.model_fields_set:
        _touch(price, clock)
    await session.flush()
    return price


def _price_type(data: PriceCreate) -> PriceType:
    inferred = PriceType.RECURRING if data.recurring is not None else PriceType.ONE_TIME
    if data.type is None or data.type == inferred.value:
        return inferred
    if data.type == PriceType.RECURRING.value:
        raise InvalidRequest(
            "a recurring price needs `recurring` (interval, interval_count)",
            code="parameter_missing",
            param="recurring",
        )
    raise InvalidRequest(
        "a one_time price takes no `recurring`", code="parameter_invalid", param="recurring"
    )


def _check_period(recurring: RecurringCreate) -> None:
    interval = Interval(recurring.interval)
    ceiling = MAX_INTERVAL_COUNT[interval]
    if recurring.interval_count > ceiling:
        raise InvalidRequest(
            f"a billing period is at most one year: interval_count may be at most {ceiling} "
            f"for interval {interval.value!r}",
            code="parameter_invalid",
            param="recurring.interval_count",
        )


def _touch(row: Product | Price, clock: Clock) -> None:
    # Flagged even when the value is unchanged (a frozen test clock): an unflagged column would
    # fall back to its ``onupdate=now()`` and take the database's time instead of the clock's.
    row.updated_at = clock.now()
    flag_modified(row, "updated_at")


def _merged(current: dict[str, object], update: dict[str, str]) -> dict[str, str]:
    try:
        return merge_metadata(current, update)
    except MetadataTooLarge as exc:
        raise InvalidRequest(str(exc), code="parameter_invalid", param="metadata") from None
