"""Invoice line items: every invoice billing opens has lines that add up exactly to its subtotal,
discount and total; the invoice JSON carries them with the hosted page URL, and the page lists
them. An invoice written without lines (before line items existed) still reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import Settings
from cyphera.db.engine import transaction
from cyphera.kit.clock import FrozenClock
from cyphera.kit.hosted import HOSTED_SECRET_ENV
from cyphera.models import Invoice, InvoiceLineItem
from cyphera.subscription import billing, changes
from cyphera.subscription.change_schemas import SubscriptionUpdate
from tests.fixtures.api import WorkspaceKeys
from tests.subscription.helpers import FakeGateway, World, make_world

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHANGE_AT = START + timedelta(days=10)  # 21 of 31 days left
RENEWAL = datetime(2026, 4, 1, 12, 0, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOSTED_SECRET_ENV, raising=False)


@pytest.fixture
async def merchant(
    sessionmaker: async_sessionmaker[AsyncSession],
    api_clock: FrozenClock,
    workspace: WorkspaceKeys,
) -> World:
    api_clock.set(START)
    return await make_world(sessionmaker, api_clock, FakeGateway(), workspace.workspace_id)


async def update(world: World, subscription_id: str, **fields: Any) -> None:
    await world.act(
        changes.update,
        subscription_id=subscription_id,
        data=SubscriptionUpdate(**fields),
    )


async def renew(world: World) -> str:
    world.at(RENEWAL)
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    return invoice_id


def check_sums(invoice: dict[str, Any]) -> None:
    """The lines add up to the total; subtotal less the discount lines is the total."""
    lines = invoice["lines"]["data"]
    amounts = [line["amount"] for line in lines]
    discounts = [line["amount"] for line in lines if line["type"] == "discount"]
    assert sum(amounts) == invoice["total"] == invoice["amount_due"]
    assert invoice["subtotal"] + sum(discounts) == invoice["total"]
    assert invoice["amount_due"] >= 0


async def test_a_plain_invoice_has_one_subscription_line(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    assert sub.invoice_id is not None

    invoice = (await api.get(f"/v1/invoices/{sub.invoice_id}")).json()

    check_sums(invoice)
    assert (invoice["subtotal"], invoice["total"], invoice["discount"]) == (3000, 3000, None)
    assert invoice["total_discount_amounts"] == []
    [line] = invoice["lines"]["data"]
    assert line["id"].startswith("il_")
    assert {k: line[k] for k in ("object", "type", "amount", "quantity", "unit_amount")} == {
        "object": "line_item",
        "type": "subscription",
        "amount": 3000,
        "quantity": 1,
        "unit_amount": 3000,
    }
    assert (line["price"], line["description"]) == (sub.price_id, "1 × Plan")
    assert line["period"] == {"start": invoice["period_start"], "end": invoice["period_end"]}
    assert invoice["lines"]["has_more"] is False
    assert invoice["lines"]["url"] == f"/v1/invoices/{sub.invoice_id}/lines"
    listed = (await api.get(invoice["lines"]["url"])).json()
    assert listed["data"] == invoice["lines"]["data"]


async def test_an_upgrade_with_prorations_then_a_discount_adds_up_on_the_renewal(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000), cap_cents=6000)
    dearer = await merchant.price(4500)
    merchant.at(CHANGE_AT)
    await update(merchant, sub.subscription_id, price=dearer)  # -2033 + 3048: balance 1015
    coupon = (await api.post("/v1/coupons", json={"percent_off": 10, "duration": "forever"})).json()
    await update(merchant, sub.subscription_id, coupon=coupon["id"])

    invoice_id = await renew(merchant)
    invoice = (await api.get(f"/v1/invoices/{invoice_id}")).json()

    check_sums(invoice)
    assert [(line["type"], line["amount"]) for line in invoice["lines"]["data"]] == [
        ("subscription", 4500),
        ("proration", 1015),
        ("discount", -551),  # floor(5515 × 1000 / 10000)
    ]
    assert (invoice["subtotal"], invoice["total"], invoice["amount_due"]) == (5515, 4964, 4964)
    assert invoice["discount"]["coupon"]["id"] == coupon["id"]
    assert invoice["total_discount_amounts"] == [
        {"amount": 551, "discount": invoice["discount"]["id"]}
    ]
    assert (await api.get(f"/v1/coupons/{coupon['id']}")).json()["times_redeemed"] == 1


async def test_a_credit_is_a_negative_proration_line_and_never_takes_the_total_below_zero(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    cheaper = await merchant.price(100)
    merchant.at(START + timedelta(days=1))
    await update(merchant, sub.subscription_id, price=cheaper)  # a credit of more than 100

    invoice = (await api.get(f"/v1/invoices/{await renew(merchant)}")).json()

    check_sums(invoice)
    assert [(line["type"], line["amount"]) for line in invoice["lines"]["data"]] == [
        ("subscription", 100),
        ("proration", -100),
    ]
    assert (invoice["subtotal"], invoice["total"], invoice["status"]) == (0, 0, "paid")


async def test_an_always_invoice_proration_has_the_two_proration_lines(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(1500), cap_cents=3000)
    dearer = await merchant.price(3000)
    merchant.at(CHANGE_AT)

    await update(merchant, sub.subscription_id, price=dearer, proration_behavior="always_invoice")

    [proration] = [
        i for i in await merchant.invoices(sub.subscription_id) if i.period_index is None
    ]
    invoice = (await api.get(f"/v1/invoices/{proration.id}")).json()
    check_sums(invoice)
    assert [(line["type"], line["amount"], line["price"]) for line in invoice["lines"]["data"]] == [
        ("proration", -1017, sub.price_id),
        ("proration", 2032, dearer),
    ]


async def test_the_hosted_page_url_serves_the_lines(
    api: httpx.AsyncClient, client: httpx.AsyncClient, merchant: World, api_settings: Settings
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    coupon = (
        await api.post(
            "/v1/coupons",
            json={"name": "Spring", "amount_off": 500, "currency": "usd", "duration": "once"},
        )
    ).json()
    await update(merchant, sub.subscription_id, coupon=coupon["id"])
    invoice = (await api.get(f"/v1/invoices/{await renew(merchant)}")).json()
    base = api_settings.api.public_url.rstrip("/")
    url = invoice["hosted_invoice_url"]
    assert url.startswith(f"{base}/invoices/{invoice['id']}/")

    page = await client.get(url.removeprefix(base))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "1 × Plan" in page.text
    assert "Spring ($5.00 off)" in page.text
    assert "-$5.00" in page.text or "$-5.00" in page.text
    assert "$25.00" in page.text


async def test_an_invoice_without_lines_still_reads(
    api: httpx.AsyncClient, merchant: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    assert sub.invoice_id is not None
    async with transaction(sessionmaker) as session:
        lines = await session.scalars(
            select(InvoiceLineItem).where(InvoiceLineItem.invoice_id == sub.invoice_id)
        )
        for line in lines:
            await session.delete(line)

    invoice = (await api.get(f"/v1/invoices/{sub.invoice_id}")).json()
    listed = (await api.get("/v1/invoices")).json()["data"]

    assert invoice["lines"]["data"] == []
    assert (invoice["subtotal"], invoice["total"], invoice["amount_due"]) == (3000, 3000, 3000)
    assert [i["id"] for i in listed] == [sub.invoice_id]
    assert (await merchant.get(Invoice, sub.invoice_id)).amount_due == 3000
