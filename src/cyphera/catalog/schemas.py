"""Request and response bodies of ``/v1/products`` and ``/v1/prices`` (Stripe's shapes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.config import JsonDict

from cyphera import models
from cyphera.kit.clock import to_unix
from cyphera.kit.metadata import Metadata
from cyphera.kit.money import MAX_UNIT_AMOUNT
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel, refuse_null
from cyphera.kit.text import StorableStr, check_not_blank
from cyphera.models.mixins import Mode

Interval = Literal["day", "week", "month", "year"]
PriceType = Literal["recurring", "one_time"]

MAX_PRODUCT_NAME_LENGTH = 250
MAX_DESCRIPTION_LENGTH = 40_000
MAX_INTERVAL_COUNT_DAYS = 365
MAX_TRIAL_PERIOD_DAYS = 730

ProductName = Annotated[
    StorableStr,
    StringConstraints(min_length=1, max_length=MAX_PRODUCT_NAME_LENGTH),
    AfterValidator(check_not_blank),
]
Description = Annotated[StorableStr, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH)]
ObjectId = Annotated[StorableStr, StringConstraints(min_length=1, max_length=100)]

_PRODUCT_EXAMPLE: JsonDict = {
    "id": "prod_NWjs8kKbJWmuuc3kTq2xPfLm",
    "object": "product",
    "active": True,
    "created": 1767225600,
    "description": "Everything in Pro, billed monthly in USDC.",
    "livemode": False,
    "metadata": {"plan": "pro"},
    "name": "Pro plan",
    "updated": 1767225600,
}
_PRICE_EXAMPLE: JsonDict = {
    "id": "price_1MoBy5LkdIwHu7ixZhnattbh",
    "object": "price",
    "active": True,
    "created": 1767225600,
    "currency": "usd",
    "livemode": False,
    "metadata": {},
    "product": "prod_NWjs8kKbJWmuuc3kTq2xPfLm",
    "recurring": {"interval": "month", "interval_count": 1, "trial_period_days": 14},
    "type": "recurring",
    "unit_amount": 1999,
}


class Product(BaseModel):
    """A product: what a merchant sells. Prices say how much and how often."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PRODUCT_EXAMPLE]})

    id: str
    object: Literal["product"] = "product"
    active: bool
    created: int = Field(description="Unix time (seconds) of creation.")
    description: str | None
    livemode: bool
    metadata: dict[str, str]
    name: str
    updated: int = Field(description="Unix time (seconds) of the last change.")

    @classmethod
    def from_model(cls, product: models.Product) -> Product:
        return cls(
            id=product.id,
            active=product.active,
            created=to_unix(product.created_at),
            description=product.description,
            livemode=product.mode is Mode.LIVE,
            metadata=dict(product.metadata_),
            name=product.name,
            updated=to_unix(product.updated_at),
        )


class ProductCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Pro plan",
                    "description": "Everything in Pro, billed monthly in USDC.",
                    "metadata": {"plan": "pro"},
                }
            ]
        }
    )

    name: ProductName
    description: Description | None = None
    active: bool = True
    metadata: Metadata = Field(default_factory=dict)


class ProductUpdate(RequestModel):
    """Only the parameters given change; ``metadata`` is merged (``""`` removes a key)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"active": False}, {"metadata": {"plan": "legacy"}}]}
    )

    name: ProductName | None = None
    description: Description | None = Field(default=None, description="`null` clears it.")
    active: bool | None = None
    metadata: Metadata | None = None

    _not_null = field_validator("name", "active", "metadata", mode="before")(refuse_null)


class ProductListParams(ListParams):
    active: bool | None = Field(
        default=None, description="Only active (or only archived) products."
    )


class Recurring(BaseModel):
    interval: Interval
    interval_count: int
    trial_period_days: int | None


class Price(BaseModel):
    """How much and how often a product costs. Immutable but for `active` and `metadata`."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PRICE_EXAMPLE]})

    id: str
    object: Literal["price"] = "price"
    active: bool
    created: int = Field(description="Unix time (seconds) of creation.")
    currency: str
    livemode: bool
    metadata: dict[str, str]
    product: str
    recurring: Recurring | None
    type: PriceType
    unit_amount: int = Field(description="The amount in cents (USD).")

    @classmethod
    def from_model(cls, price: models.Price) -> Price:
        recurring = None
        if price.recurring_interval is not None and price.recurring_interval_count is not None:
            recurring = Recurring(
                interval=price.recurring_interval.value,
                interval_count=price.recurring_interval_count,
                trial_period_days=price.trial_period_days,
            )
        return cls(
            id=price.id,
            active=price.active,
            created=to_unix(price.created_at),
            currency=price.currency,
            livemode=price.mode is Mode.LIVE,
            metadata=dict(price.metadata_),
            product=price.product_id,
            recurring=recurring,
            type=price.type.value,
            unit_amount=price.unit_amount,
        )


class RecurringCreate(RequestModel):
    interval: Interval
    interval_count: Annotated[int, Field(ge=1, le=MAX_INTERVAL_COUNT_DAYS)] = Field(
        default=1,
        description="Intervals per billing period; at most one year in total "
        "(365 days, 52 weeks, 12 months or 1 year).",
    )
    trial_period_days: Annotated[int, Field(ge=0, le=MAX_TRIAL_PERIOD_DAYS)] | None = None


class PriceCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "product": "prod_NWjs8kKbJWmuuc3kTq2xPfLm",
                    "unit_amount": 1999,
                    "currency": "usd",
                    "recurring": {"interval": "month", "trial_period_days": 14},
                }
            ]
        }
    )

    product: ObjectId = Field(description="The product this price is for.")
    unit_amount: Annotated[int, Field(ge=0, le=MAX_UNIT_AMOUNT)] = Field(
        description="The amount in cents, as an integer (1999 = $19.99)."
    )
    currency: Annotated[StorableStr, StringConstraints(max_length=16)] = Field(
        description='Three-letter ISO code, lower case; only "usd" for now.'
    )
    type: PriceType | None = Field(
        default=None, description="Optional: follows from whether `recurring` is given."
    )
    recurring: RecurringCreate | None = None
    active: bool = True
    metadata: Metadata = Field(default_factory=dict)


class PriceUpdate(RequestModel):
    """Prices are immutable: only `active` and `metadata` change. Create a new price instead."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})

    active: bool | None = None
    metadata: Metadata | None = None

    _not_null = field_validator("active", "metadata", mode="before")(refuse_null)


class PriceListParams(ListParams):
    active: bool | None = Field(default=None, description="Only active (or only inactive) prices.")
    product: Annotated[StorableStr, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Only prices of this product."
    )
    type: PriceType | None = Field(default=None, description="Only recurring or one-time prices.")
