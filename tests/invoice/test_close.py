"""Closing an open invoice: void and uncollectible each record their event once; an invoice that is
no longer open is left alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from cyphera.db.engine import transaction
from cyphera.invoice import service as invoices
from cyphera.models import Invoice
from cyphera.models.invoice import InvoiceStatus
from cyphera.subscription import lifecycle
from tests.subscription.helpers import World

Close = Callable[..., Awaitable[None]]
CLOSES: list[tuple[Close, InvoiceStatus, str]] = [
    (invoices.void, InvoiceStatus.VOID, "invoice.voided"),
    (invoices.mark_uncollectible, InvoiceStatus.UNCOLLECTIBLE, "invoice.marked_uncollectible"),
]


async def close(world: World, action: Close, subscription_id: str, invoice_id: str) -> None:
    async with transaction(world.sessionmaker) as session:
        await lifecycle.get_for_update(session, subscription_id)
        invoice = await invoices.get_for_update(session, invoice_id)
        await action(session, invoice=invoice)


@pytest.mark.parametrize(("action", "status", "event"), CLOSES)
async def test_an_open_invoice_is_closed_once(
    world: World, action: Close, status: InvoiceStatus, event: str
) -> None:
    sub = await world.subscribe(await world.price(3000), collect=False)
    assert sub.invoice_id is not None

    await close(world, action, sub.subscription_id, sub.invoice_id)
    await close(world, action, sub.subscription_id, sub.invoice_id)

    assert (await world.get(Invoice, sub.invoice_id)).status is status
    assert (await world.event_types(sub.invoice_id)).count(event) == 1
    assert await world.last_event(sub.invoice_id, event) == {
        "subscription": sub.subscription_id,
        "amount_due": 3000,
    }


@pytest.mark.parametrize(("action", "event"), [(action, event) for action, _, event in CLOSES])
async def test_a_paid_invoice_is_left_alone(world: World, action: Close, event: str) -> None:
    sub = await world.subscribe(await world.price(3000))
    assert sub.invoice_id is not None

    await close(world, action, sub.subscription_id, sub.invoice_id)

    assert (await world.get(Invoice, sub.invoice_id)).status is InvoiceStatus.PAID
    assert event not in await world.event_types(sub.invoice_id)
