"""The subscription as the API shows it (Stripe's shape where it applies), its list filters, and
the bodies of its actions (cancel, pause, resume).

Changes of price and quantity, and their preview: `cyphera.subscription.change_schemas`.
Invoices and payments: `cyphera.subscription.invoice_schemas`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from cyphera.coupon.schemas import Discount
from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel
from cyphera.models import Subscription as SubscriptionModel
from cyphera.models.mixins import Mode
from cyphera.models.subscription import SubscriptionStatus


def _ts(value: Any) -> int | None:
    return None if value is None else to_unix(value)


_SUBSCRIPTION_EXAMPLE: JsonDict = {
    "id": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
    "object": "subscription",
    "livemode": False,
    "created": 1767225600,
    "status": "active",
    "customer": "cus_NffrFeUfNV2Hib9nY3kTq2xP",
    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
    "quantity": 1,
    "permission": "perm_Q2xPfLmNWjs8kKbJWmuuc3kT",
    "billing_cycle_anchor": 1767225600,
    "current_period_start": 1767225600,
    "current_period_end": 1769904000,
    "cancel_at_period_end": False,
    "canceled_at": None,
    "ended_at": None,
    "cancellation_details": {"reason": None},
    "trial_start": None,
    "trial_end": None,
    "pause_collection": None,
    "next_payment_attempt": None,
    "proration_balance": 0,
    "test_clock": None,
    "pending_update": None,
    "discount": None,
    "metadata": {},
}


class PauseCollection(BaseModel):
    behavior: Literal["void"] = Field(
        default="void",
        description="Invoices of the paused time are voided: nothing is charged while paused.",
    )
    resumes_at: int | None = Field(description="When it resumes by itself (Unix time), if set.")


class CancellationDetails(BaseModel):
    reason: str | None = Field(
        description="`cancellation_requested` (by the merchant) or `payment_failed` (dunning)."
    )


class PendingCheckoutSession(BaseModel):
    id: str
    url: str = Field(description="The hosted page where the customer grants the permission.")


class PendingUpdate(BaseModel):
    """A change of price and/or quantity waiting for the customer to grant a new on-chain
    permission (a larger cap, or another interval)."""

    price: str = Field(description="The price it changes to (the current one if unchanged).")
    quantity: int = Field(description="The quantity it changes to (the current one if unchanged).")
    proration_behavior: str
    checkout_session: PendingCheckoutSession = Field(
        description="Complete it (`POST /v1/checkout/sessions/{id}/complete`) with the customer's "
        "signature or grant to apply the change."
    )
    expires_at: int = Field(description="When the request lapses and the change is dropped.")

    @classmethod
    def from_model(cls, s: SubscriptionModel) -> PendingUpdate | None:
        if (
            s.pending_price_id is None
            or s.pending_checkout_session_id is None
            or s.pending_expires_at is None
        ):
            return None
        return cls(
            price=s.pending_price_id,
            quantity=s.pending_quantity or s.quantity,
            proration_behavior=s.pending_proration_behavior or "create_prorations",
            checkout_session=PendingCheckoutSession(
                id=s.pending_checkout_session_id, url=s.pending_checkout_url or ""
            ),
            expires_at=to_unix(s.pending_expires_at),
        )


class Subscription(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SUBSCRIPTION_EXAMPLE]})

    id: str
    object: Literal["subscription"] = "subscription"
    livemode: bool
    created: int
    status: str
    customer: str
    price: str
    quantity: int
    permission: str | None
    billing_cycle_anchor: int
    current_period_start: int
    current_period_end: int
    cancel_at_period_end: bool
    canceled_at: int | None
    ended_at: int | None
    cancellation_details: CancellationDetails
    trial_start: int | None
    trial_end: int | None
    pause_collection: PauseCollection | None = Field(description="Set while the status is paused.")
    next_payment_attempt: int | None = Field(
        description="When a past-due invoice is retried next (Unix time)."
    )
    proration_balance: int = Field(
        description="Cents of prorations not invoiced yet: positive is added to the next invoice, "
        "negative is a credit taken off the next invoices."
    )
    test_clock: str | None = Field(
        default=None, description="The test clock whose time it lives at (test mode only)."
    )
    pending_update: PendingUpdate | None = Field(
        default=None,
        description="A change of price and/or quantity that needs a new on-chain permission (a "
        "larger amount per period, or another interval): the price, quantity and proration "
        "behaviour apply only once the customer completes `checkout_session`.",
    )
    discount: Discount | None = Field(
        default=None,
        description="The coupon applied to its invoices, if any (`coupon` on update adds it; "
        "`DELETE /v1/subscriptions/{id}/discount` removes it).",
    )
    metadata: dict[str, str]

    @classmethod
    def from_model(cls, s: SubscriptionModel, *, discount: Discount | None = None) -> Subscription:
        """The API shape of `s`; `discount` is its current discount (`lifecycle.view` loads it)."""
        return cls(
            id=s.id,
            livemode=s.mode is Mode.LIVE,
            created=to_unix(s.created_at),
            status=s.status.value,
            customer=s.customer_id,
            price=s.price_id,
            quantity=s.quantity,
            permission=s.permission_id,
            billing_cycle_anchor=to_unix(s.billing_anchor),
            current_period_start=to_unix(s.current_period_start),
            current_period_end=to_unix(s.current_period_end),
            cancel_at_period_end=s.cancel_at_period_end,
            canceled_at=_ts(s.canceled_at),
            ended_at=_ts(s.ended_at),
            cancellation_details=CancellationDetails(reason=s.cancellation_reason),
            trial_start=_ts(s.trial_start),
            trial_end=_ts(s.trial_end),
            pause_collection=(
                PauseCollection(resumes_at=_ts(s.resumes_at))
                if s.status is SubscriptionStatus.PAUSED
                else None
            ),
            next_payment_attempt=_ts(s.next_payment_attempt_at),
            proration_balance=s.proration_balance,
            test_clock=s.test_clock_id,
            pending_update=PendingUpdate.from_model(s),
            discount=discount,
            metadata=dict(s.metadata_),
        )


class SubscriptionListParams(ListParams):
    customer: str | None = None
    status: SubscriptionStatus | None = None


# --- the bodies of the actions -------------------------------------------------------------

MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z


class SubscriptionCancel(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"at_period_end": True}, {}]})

    at_period_end: bool = Field(
        default=False,
        description="`true`: keep it until the current period ends, then cancel (nothing more is "
        "charged). `false` (default): cancel now and void its open invoices.",
    )


class SubscriptionPause(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"resumes_at": 1772323200}, {}]})

    resumes_at: int | None = Field(
        default=None,
        ge=0,
        le=MAX_UNIX_TIME,
        description="Unix time at which it resumes by itself; omitted, it stays paused until "
        "resumed.",
    )


class SubscriptionResume(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})
