"""Response bodies of the billing objects (Stripe's shapes where they apply)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListParams
from cyphera.models import Invoice as InvoiceModel
from cyphera.models import Payment as PaymentModel
from cyphera.models import Subscription as SubscriptionModel
from cyphera.models.mixins import Mode
from cyphera.models.subscription import SubscriptionStatus


def _ts(value: Any) -> int | None:
    return None if value is None else to_unix(value)


class Subscription(BaseModel):
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
    metadata: dict[str, str]

    @classmethod
    def from_model(cls, s: SubscriptionModel) -> Subscription:
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
            metadata=s.metadata_,
        )


class Invoice(BaseModel):
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
    amount_due: int
    amount_paid: int
    paid_at: int | None

    @classmethod
    def from_model(cls, i: InvoiceModel) -> Invoice:
        return cls(
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
