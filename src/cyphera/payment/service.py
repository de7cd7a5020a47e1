"""Payments: attempts to collect an invoice on-chain, and the record of what the chain said."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.event import service as events
from cyphera.kit.ids import new_id
from cyphera.kit.money import Cents, cents_to_token_units
from cyphera.models import Invoice, Payment, Permission
from cyphera.models.payment import IN_FLIGHT, PaymentStatus
from cyphera.payment.gateway import ChargeOrder, ChargeOutcome, ChargeState


async def create_for_invoice(
    session: AsyncSession, *, invoice: Invoice, permission: Permission
) -> Payment:
    """A pending attempt for `invoice`, paid through `permission`.

    The amount is computed here, on the server, from the invoice (cents) and the token's decimals —
    never taken from a client. The partial unique index refuses a second attempt while one is in
    flight.
    """
    payment = Payment(
        id=new_id("pay"),
        workspace_id=invoice.workspace_id,
        mode=invoice.mode,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        permission_id=permission.id,
        status=PaymentStatus.PENDING,
        amount_cents=invoice.amount_due,
        amount=cents_to_token_units(
            Cents(invoice.amount_due), token_decimals=permission.token_decimals
        ),
        network=permission.network,
        chain_id=permission.chain_id,
        token_address=permission.token_address,
        payee=permission.payee,
    )
    session.add(payment)
    await session.flush()
    return payment


async def get_for_update(session: AsyncSession, payment_id: str) -> Payment | None:
    return (
        await session.execute(select(Payment).where(Payment.id == payment_id).with_for_update())
    ).scalar_one_or_none()


def order_for(payment: Payment, permission: Permission) -> ChargeOrder:
    """What the signer is asked to do: the payment id is the idempotency key, always."""
    return ChargeOrder(
        key=payment.id,
        chain_id=payment.chain_id,
        permission_context=permission.context,
        token=payment.token_address,
        payee=payment.payee,
        amount=payment.amount,
    )


async def apply_outcome(session: AsyncSession, *, payment: Payment, outcome: ChargeOutcome) -> None:
    """Record what the signer reported. Only proven outcomes end the attempt."""
    if payment.status not in IN_FLIGHT:
        return
    payment.tx_hash = outcome.tx_hash or payment.tx_hash
    match outcome.state:
        case ChargeState.PENDING:
            return
        case ChargeState.SUBMITTED:
            payment.status = PaymentStatus.SUBMITTED
        case ChargeState.CONFIRMED:
            payment.status = PaymentStatus.SUCCEEDED
            payment.block_number = outcome.block_number
            payment.gas_used = outcome.gas_used
            await events.record(
                session,
                workspace_id=payment.workspace_id,
                mode=payment.mode,
                type="payment.succeeded",
                object_id=payment.id,
                data={"invoice": payment.invoice_id, "tx_hash": payment.tx_hash},
            )
        case ChargeState.FAILED:
            payment.status = PaymentStatus.FAILED
            payment.failure_code = outcome.failure_code or "unknown"
            payment.failure_message = (outcome.failure_message or "")[:500] or None
            await events.record(
                session,
                workspace_id=payment.workspace_id,
                mode=payment.mode,
                type="payment.failed",
                object_id=payment.id,
                data={"invoice": payment.invoice_id, "failure_code": payment.failure_code},
            )
