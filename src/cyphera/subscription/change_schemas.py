"""Changes of a subscription's price and/or quantity: the update body (which also carries
``cancel_at_period_end``, the coupon and metadata), and the preview of a change — its parameters
and what it shows.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from cyphera.kit.metadata import Metadata
from cyphera.kit.schema import RequestModel, refuse_null
from cyphera.kit.text import StorableStr

ObjectId = Annotated[StorableStr, StringConstraints(min_length=1, max_length=100)]


ProrationBehaviorName = Literal["create_prorations", "none", "always_invoice"]


class SubscriptionUpdate(RequestModel):
    """Only the parameters given change; ``metadata`` is merged (``""`` removes a key).

    ``status`` is not a parameter: cancel, pause and resume are actions with their own endpoints.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"cancel_at_period_end": True},
                {"cancel_at_period_end": False},
                {"price": "price_1MoBy5LkdIwHu7ixZhnattbh", "proration_behavior": "none"},
                {"quantity": 5},
                {
                    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
                    "quantity": 3,
                    "proration_behavior": "always_invoice",
                },
                {"metadata": {"order": "6735"}},
            ]
        }
    )

    cancel_at_period_end: bool | None = Field(
        default=None,
        description="`true` ends the subscription when the current period ends (no further "
        "charge); `false` undoes that while it is still running.",
    )
    price: ObjectId | None = Field(
        default=None,
        description="An active recurring price in the same currency. If its amount per period "
        "(times the quantity) is above the customer's on-chain permission, nothing changes yet: "
        "the subscription gets a `pending_update` with a checkout session for the customer to "
        "grant the larger permission, and the change applies when they complete it. Another "
        "interval or interval_count always goes through such a `pending_update`.",
    )
    quantity: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="The number of units (seats) billed each period, alone or with `price`: the "
        "amount per period becomes price × quantity, prorated like a price change. Above the "
        "customer's on-chain permission it waits as a `pending_update`, as a dearer price does.",
    )
    proration_behavior: ProrationBehaviorName | None = Field(
        default=None,
        description="With `price` or `quantity`: `create_prorations` (default) puts the "
        "proration on the next invoice, `none` makes the new amount apply from the next period, "
        "`always_invoice` charges a net proration now. Prorations are floored in the customer's "
        "favour.",
    )
    metadata: Metadata | None = None
    coupon: ObjectId | None = Field(
        default=None,
        description="Apply this coupon as the subscription's discount (replacing the current "
        "one), from its next invoice; remove it with `DELETE /v1/subscriptions/{id}/discount`.",
    )

    _not_null = field_validator(
        "cancel_at_period_end", "price", "quantity", "proration_behavior", "metadata", mode="before"
    )(refuse_null)
    _coupon_not_null = field_validator("coupon", mode="before")(refuse_null)


class PreviewChangeParams(BaseModel):
    """At least one of `price` and `quantity` (the service answers ``parameter_missing``)."""

    model_config = ConfigDict(extra="forbid")

    price: ObjectId | None = Field(
        default=None,
        description="The price to preview changing to (default: the current one; at least one "
        "of `price` and `quantity` is required).",
        examples=["price_1MoBy5LkdIwHu7ixZhnattbh"],
    )
    quantity: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="The quantity to preview changing to (default: the current one).",
        examples=[3],
    )
    proration_behavior: ProrationBehaviorName = "create_prorations"


# --- the preview of a price change -------------------------------------------------------------


class ProrationLine(BaseModel):
    description: str
    amount: int = Field(description="Cents; negative is a credit.")
    price: str
    period_start: int
    period_end: int


class UpcomingInvoice(BaseModel):
    period_start: int
    period_end: int
    amount_due: int = Field(
        description="Cents, with prorations, credits and the subscription's discount applied."
    )


class SubscriptionChangePreview(BaseModel):
    """What `POST /v1/subscriptions/{id}` with this price and/or quantity would do, computed now;
    nothing changes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "subscription_change_preview",
                    "subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
                    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
                    "quantity": 1,
                    "proration_behavior": "create_prorations",
                    "proration_date": 1768435200,
                    "currency": "usd",
                    "lines": [
                        {
                            "description": "Unused time on the previous price",
                            "amount": -1032,
                            "price": "price_1Mo9nGLkdIwHu7ixAbCdEfGh",
                            "period_start": 1768435200,
                            "period_end": 1769904000,
                        },
                        {
                            "description": "Remaining time on the new price",
                            "amount": 516,
                            "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
                            "period_start": 1768435200,
                            "period_end": 1769904000,
                        },
                    ],
                    "proration_amount": -516,
                    "amount_due_now": 0,
                    "proration_balance": -516,
                    "next_invoice": {
                        "period_start": 1769904000,
                        "period_end": 1772323200,
                        "amount_due": 484,
                    },
                    "requires_new_permission": False,
                    "new_permission_cap": None,
                    "resets_billing_anchor": False,
                }
            ]
        }
    )

    object: Literal["subscription_change_preview"] = "subscription_change_preview"
    subscription: str
    price: str
    quantity: int = Field(description="The quantity after the change.")
    proration_behavior: ProrationBehaviorName
    proration_date: int = Field(description="The instant the prorations are computed for.")
    currency: str
    lines: list[ProrationLine]
    proration_amount: int = Field(description="Sum of the lines, cents.")
    amount_due_now: int = Field(
        description="Charged at once (`always_invoice`; or, with `resets_billing_anchor`, the "
        "new first period with the credit applied), cents, less the discount if it applies."
    )
    proration_balance: int = Field(description="The subscription's balance after the change.")
    next_invoice: UpcomingInvoice
    requires_new_permission: bool = Field(
        default=False,
        description="The change needs a new on-chain permission (a larger amount per period, "
        "or another interval): the change would return a `pending_update` with a checkout "
        "session for the customer, and apply when they complete it.",
    )
    new_permission_cap: int | None = Field(
        default=None,
        description="With `requires_new_permission`: the cents per period the new permission "
        "would allow.",
    )
    resets_billing_anchor: bool = Field(
        default=False,
        description="The new price bills on another interval. An active subscription's "
        "schedule restarts when the customer completes the session: the unused time of the "
        "current price is credited (unless `proration_behavior` is `none`) and the new price's "
        "first period, from then on, is invoiced and charged at once (`amount_due_now`, "
        "computed as if completed now); `next_invoice` is the period after it. A trialing one "
        "keeps its trial; `next_invoice` is its first paid period on the new interval.",
        examples=[True],
    )
