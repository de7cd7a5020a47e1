"""Request and response bodies of ``/v1/coupons`` and of discounts (Stripe's shapes)."""

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

from cyphera.kit.clock import to_unix
from cyphera.kit.metadata import Metadata
from cyphera.kit.money import MAX_UNIT_AMOUNT
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel, refuse_null
from cyphera.kit.text import StorableStr, check_not_blank
from cyphera.models import Coupon as CouponModel
from cyphera.models import Discount as DiscountModel
from cyphera.models.mixins import Mode

MAX_COUPON_NAME_LENGTH = 40
MAX_DURATION_IN_MONTHS = 120
MAX_REDEMPTIONS = 1_000_000_000
MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z

CouponName = Annotated[
    StorableStr,
    StringConstraints(min_length=1, max_length=MAX_COUPON_NAME_LENGTH),
    AfterValidator(check_not_blank),
]

_COUPON_EXAMPLE: JsonDict = {
    "id": "coupon_Z4OV52SUxKj8nFmcXGN1DnS4",
    "object": "coupon",
    "amount_off": None,
    "created": 1767225600,
    "currency": None,
    "duration": "repeating",
    "duration_in_months": 3,
    "livemode": False,
    "max_redemptions": 100,
    "metadata": {},
    "name": "25% off for 3 months",
    "percent_off": 25.0,
    "redeem_by": None,
    "times_redeemed": 0,
    "valid": True,
}


class Coupon(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_COUPON_EXAMPLE]})

    id: str
    object: Literal["coupon"] = "coupon"
    livemode: bool
    created: int
    name: str | None
    percent_off: float | None = Field(description="Percent taken off, up to two decimals.")
    amount_off: int | None = Field(description="Cents taken off each discounted invoice.")
    currency: str | None
    duration: str
    duration_in_months: int | None
    max_redemptions: int | None
    redeem_by: int | None
    times_redeemed: int
    valid: bool
    metadata: dict[str, str]

    @classmethod
    def from_model(cls, c: CouponModel) -> Coupon:
        return cls(
            id=c.id,
            livemode=c.mode is Mode.LIVE,
            created=to_unix(c.created_at),
            name=c.name,
            percent_off=None if c.percent_off_bp is None else c.percent_off_bp / 100,
            amount_off=c.amount_off,
            currency=c.currency,
            duration=c.duration.value,
            duration_in_months=c.duration_in_months,
            max_redemptions=c.max_redemptions,
            redeem_by=None if c.redeem_by is None else to_unix(c.redeem_by),
            times_redeemed=c.times_redeemed,
            valid=c.valid,
            metadata=dict(c.metadata_),
        )


class DeletedCoupon(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "SUMMER25", "object": "coupon", "deleted": True}]}
    )

    id: str
    object: Literal["coupon"] = "coupon"
    deleted: Literal[True] = True


class Discount(BaseModel):
    id: str
    object: Literal["discount"] = "discount"
    coupon: Coupon
    customer: str
    subscription: str
    start: int
    end: int | None = Field(description="When a `repeating` discount stops applying.")

    @classmethod
    def from_model(cls, d: DiscountModel, coupon: CouponModel) -> Discount:
        return cls(
            id=d.id,
            coupon=Coupon.from_model(coupon),
            customer=d.customer_id,
            subscription=d.subscription_id,
            start=to_unix(d.start),
            end=None if d.end is None else to_unix(d.end),
        )


class DeletedDiscount(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "di_1MowQVLkdIwHu7ixeRlqHVzs", "object": "discount", "deleted": True}
            ]
        }
    )

    id: str
    object: Literal["discount"] = "discount"
    deleted: Literal[True] = True


class CouponCreate(RequestModel):
    """Exactly one of ``percent_off`` and ``amount_off`` (with ``currency``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"percent_off": 25, "duration": "repeating", "duration_in_months": 3},
                {"amount_off": 500, "currency": "usd", "duration": "once", "name": "$5 off"},
            ]
        }
    )

    name: CouponName | None = None
    percent_off: float | None = Field(
        default=None,
        description="More than 0 and at most 100, with at most two decimals. The discount is "
        "floor(subtotal × percent_off / 100) cents.",
    )
    amount_off: int | None = Field(
        default=None,
        description="Positive cents; needs `currency`.",
        ge=-MAX_UNIT_AMOUNT,
        le=MAX_UNIT_AMOUNT,
    )
    currency: Annotated[StorableStr, StringConstraints(min_length=3, max_length=3)] | None = None
    duration: Literal["once", "repeating", "forever"]
    duration_in_months: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    max_redemptions: int | None = Field(default=None, ge=1, le=MAX_REDEMPTIONS)
    redeem_by: int | None = Field(default=None, ge=0, le=MAX_UNIX_TIME)
    metadata: Metadata | None = None


class CouponUpdate(RequestModel):
    """Only ``name`` and ``metadata`` change (``metadata`` merged, ``""`` removes a key)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Launch offer"}, {"metadata": {"c": "1"}}]}
    )

    name: CouponName | None = None
    metadata: Metadata | None = None

    _not_null = field_validator("name", "metadata", mode="before")(refuse_null)


class CouponListParams(ListParams):
    pass
