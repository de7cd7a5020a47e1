"""Response bodies of the billing objects (Stripe's shapes where they apply)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.config import JsonDict

from cyphera.coupon.schemas import Discount
from cyphera.kit.clock import to_unix
from cyphera.kit.metadata import Metadata
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel, refuse_null
from cyphera.kit.text import StorableStr
from cyphera.models import Invoice as InvoiceModel
from cyphera.models import InvoiceLineItem as InvoiceLineItemModel
from cyphera.models import Payment as PaymentModel
from cyphera.models import Subscription as SubscriptionModel
from cyphera.models.invoice_line_item import InvoiceLineKind
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


_INVOICE_ID = "in_1MtHbELkdIwHu7ixl4OzzPMv"
_INVOICE_LINES_EXAMPLE: JsonDict = {
    "object": "list",
    "data": [
        {
            "id": "il_1MtHbELkdIwHu7ixR2wQp9Xa",
            "object": "line_item",
            "type": "subscription",
            "description": "1 × Pro plan (at $19.99 / month)",
            "amount": 1999,
            "currency": "usd",
            "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
            "quantity": 1,
            "unit_amount": 1999,
            "discount": None,
            "period": {"start": 1767225600, "end": 1769904000},
        }
    ],
    "has_more": False,
    "url": f"/v1/invoices/{_INVOICE_ID}/lines",
}
_INVOICE_EXAMPLE: JsonDict = {
    "id": _INVOICE_ID,
    "object": "invoice",
    "livemode": False,
    "created": 1767225600,
    "number": "A1B2C3D4-0001",
    "status": "paid",
    "customer": "cus_NffrFeUfNV2Hib9nY3kTq2xP",
    "subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs",
    "period_start": 1767225600,
    "period_end": 1769904000,
    "currency": "usd",
    "subtotal": 1999,
    "total": 1999,
    "total_discount_amounts": [],
    "discount": None,
    "amount_due": 1999,
    "amount_paid": 1999,
    "paid_at": 1767225612,
    "lines": _INVOICE_LINES_EXAMPLE,
    "hosted_invoice_url": f"https://api.cyphera.example/invoices/{_INVOICE_ID}",
}
_PAYMENT_EXAMPLE: JsonDict = {
    "id": "pay_3MtwBwLkdIwHu7ix28a3tqPa",
    "object": "payment",
    "livemode": False,
    "created": 1767225600,
    "status": "succeeded",
    "invoice": _INVOICE_ID,
    "customer": "cus_NffrFeUfNV2Hib9nY3kTq2xP",
    "amount": 1999,
    "amount_token": "19990000",
    "network": "base-sepolia",
    "chain_id": 84532,
    "token_address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    "payee": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "tx_hash": "0x9fc76417374aa880d4449a1f7f31ec597f00b1f6f3dd2d66f4c9c6c445836d8b",
    "block_number": 18234567,
    "gas_used": 142817,
    "failure_code": None,
    "failure_message": None,
}


class InvoiceLinePeriod(BaseModel):
    start: int
    end: int


class InvoiceLine(BaseModel):
    id: str
    object: Literal["line_item"] = "line_item"
    type: str = Field(description="`subscription`, `proration` or `discount`.")
    description: str
    amount: int = Field(description="Signed cents: a credit or a discount is negative.")
    currency: str
    price: str | None
    quantity: int | None
    unit_amount: int | None
    discount: str | None = Field(description="The discount of a `discount` line.")
    period: InvoiceLinePeriod

    @classmethod
    def from_model(cls, line: InvoiceLineItemModel, currency: str) -> InvoiceLine:
        return cls(
            id=line.id,
            type=line.kind.value,
            description=line.description,
            amount=line.amount,
            currency=currency,
            price=line.price_id,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            discount=line.discount_id,
            period=InvoiceLinePeriod(
                start=to_unix(line.period_start), end=to_unix(line.period_end)
            ),
        )


class InvoiceLines(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_INVOICE_LINES_EXAMPLE]})

    object: Literal["list"] = "list"
    data: list[InvoiceLine]
    has_more: Literal[False] = False
    url: str


class InvoiceDiscountAmount(BaseModel):
    amount: int
    discount: str


class Invoice(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_INVOICE_EXAMPLE]})

    id: str
    object: Literal["invoice"] = "invoice"
    livemode: bool
    created: int
    number: str
    status: str
    customer: str
    subscription: str | None
    period_start: int
    period_end: int
    currency: str
    subtotal: int = Field(
        description="Cents before the discount: the lines that are not discounts (never below 0)."
    )
    total: int = Field(description="`subtotal` minus the discount; equals `amount_due`.")
    total_discount_amounts: list[InvoiceDiscountAmount]
    discount: Discount | None = Field(description="The discount applied to this invoice.")
    amount_due: int
    amount_paid: int
    paid_at: int | None
    lines: InvoiceLines
    hosted_invoice_url: str | None = Field(
        description="The customer's page for this invoice (no API key needed)."
    )

    @classmethod
    def from_model(
        cls,
        i: InvoiceModel,
        *,
        lines: Sequence[InvoiceLineItemModel] = (),
        discount: Discount | None = None,
        hosted_invoice_url: str | None = None,
    ) -> Invoice:
        """`lines` empty: an invoice written before line items existed (its subtotal and total
        are its amount due)."""
        discounted = [line for line in lines if line.kind is InvoiceLineKind.DISCOUNT]
        discount_total = -sum(line.amount for line in discounted)
        subtotal = (
            sum(line.amount for line in lines if line.kind is not InvoiceLineKind.DISCOUNT)
            if lines
            else i.amount_due
        )
        return cls(
            subtotal=subtotal,
            total=subtotal - discount_total,
            total_discount_amounts=[
                InvoiceDiscountAmount(amount=-line.amount, discount=line.discount_id)
                for line in discounted
                if line.discount_id is not None
            ],
            discount=discount,
            lines=InvoiceLines(
                data=[InvoiceLine.from_model(line, i.currency) for line in lines],
                url=f"/v1/invoices/{i.id}/lines",
            ),
            hosted_invoice_url=hosted_invoice_url,
            id=i.id,
            livemode=i.mode is Mode.LIVE,
            created=to_unix(i.created_at),
            number=i.number,
            status=i.status.value,
            customer=i.customer_id,
            subscription=i.subscription_id,
            period_start=to_unix(i.period_start),
            period_end=to_unix(i.period_end),
            currency=i.currency,
            amount_due=i.amount_due,
            amount_paid=i.amount_paid,
            paid_at=_ts(i.paid_at),
        )


class Payment(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PAYMENT_EXAMPLE]})

    id: str
    object: Literal["payment"] = "payment"
    livemode: bool
    created: int
    status: str
    invoice: str
    customer: str
    amount: int = Field(description="USD cents.")
    amount_token: str = Field(description="Token base units, decimal string.")
    network: str
    chain_id: int
    token_address: str
    payee: str
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    failure_code: str | None
    failure_message: str | None

    @classmethod
    def from_model(cls, p: PaymentModel) -> Payment:
        return cls(
            id=p.id,
            livemode=p.mode is Mode.LIVE,
            created=to_unix(p.created_at),
            status=p.status.value,
            invoice=p.invoice_id,
            customer=p.customer_id,
            amount=p.amount_cents,
            amount_token=str(p.amount),
            network=p.network,
            chain_id=p.chain_id,
            token_address=p.token_address,
            payee=p.payee,
            tx_hash=p.tx_hash,
            block_number=p.block_number,
            gas_used=p.gas_used,
            failure_code=p.failure_code,
            failure_message=p.failure_message,
        )


class SubscriptionListParams(ListParams):
    customer: str | None = None
    status: SubscriptionStatus | None = None


class InvoiceListParams(ListParams):
    subscription: str | None = None


class PaymentListParams(ListParams):
    invoice: str | None = None


# --- requests ------------------------------------------------------------------------------------

ObjectId = Annotated[StorableStr, StringConstraints(min_length=1, max_length=100)]
ProrationBehaviorName = Literal["create_prorations", "none", "always_invoice"]
MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z


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
