"""Invoices and payments of subscriptions as the API shows them (Stripe's shapes where they
apply), with the invoice's lines, and their list filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from cyphera.coupon.schemas import Discount
from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListParams
from cyphera.models import Invoice as InvoiceModel
from cyphera.models import InvoiceLineItem as InvoiceLineItemModel
from cyphera.models import Payment as PaymentModel
from cyphera.models.invoice_line_item import InvoiceLineKind
from cyphera.models.mixins import Mode

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
            paid_at=None if i.paid_at is None else to_unix(i.paid_at),
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


class InvoiceListParams(ListParams):
    subscription: str | None = None


class PaymentListParams(ListParams):
    invoice: str | None = None
