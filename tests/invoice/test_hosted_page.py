from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from eth_account import Account
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import Environment
from cyphera.db.engine import transaction
from cyphera.invoice.page import hosted_invoice_path, hosted_invoice_url, hosted_token
from cyphera.kit.hosted import (
    DEV_HOSTED_SECRET,
    HOSTED_SECRET_ENV,
    HostedSecretInvalid,
    hosted_secret,
)
from cyphera.kit.ids import new_id
from cyphera.models import (
    Customer,
    Event,
    Invoice,
    Payment,
    Permission,
    Price,
    Product,
    Subscription,
)
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus
from cyphera.models.permission import PermissionSource, PermissionStatus
from cyphera.models.price import Interval, PriceType
from cyphera.models.subscription import SubscriptionStatus
from tests.fixtures.api import WorkspaceKeys

SECRET = DEV_HOSTED_SECRET.encode()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAYEE = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
TX_HASH = "0x" + "ab" * 32


@pytest.fixture(autouse=True)
def _dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pages below are addressed with the development default secret.
    monkeypatch.delenv(HOSTED_SECRET_ENV, raising=False)


@dataclass(frozen=True)
class Billed:
    invoice_id: str
    number: str


async def _invoice(
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace_id: str,
    *,
    paid: bool,
    quantity: int = 1,
) -> Billed:
    """A subscription's invoice for $19.99 × `quantity`, paid on Base Sepolia when `paid`."""
    tenant = {"workspace_id": workspace_id, "mode": Mode.TEST}
    end = NOW + timedelta(days=31)
    async with transaction(sessionmaker) as session:
        product = Product(id=new_id("prod"), name="Pro <plan>", active=True, metadata_={}, **tenant)
        wallet = Account.create().address
        customer = Customer(id=new_id("cus"), address=wallet, metadata_={}, **tenant)
        session.add_all([product, customer])
        await session.flush()
        price = Price(
            id=new_id("price"),
            product_id=product.id,
            type=PriceType.RECURRING,
            unit_amount=1999,
            currency="usd",
            recurring_interval=Interval.MONTH,
            recurring_interval_count=1,
            active=True,
            metadata_={},
            **tenant,
        )
        permission = Permission(
            id=new_id("perm"),
            customer_id=customer.id,
            network="base-sepolia",
            chain_id=84532,
            source=PermissionSource.EIP712,
            status=PermissionStatus.ACTIVE,
            account=wallet,
            delegate=PAYEE,
            delegation_manager=PAYEE,
            delegation_hash="0x" + secrets.token_hex(32),
            revocation_hash="0x" + secrets.token_hex(32),
            token_address=USDC_BASE_SEPOLIA,
            token_symbol="USDC",
            token_decimals=6,
            period_amount=1999 * quantity * 10**4,
            period_seconds=28 * 86_400,
            start_at=NOW,
            expires_at=NOW + timedelta(days=365),
            payee=PAYEE,
            context=b"",
            **tenant,
        )
        session.add_all([price, permission])
        await session.flush()
        subscription = Subscription(
            id=new_id("sub"),
            customer_id=customer.id,
            price_id=price.id,
            permission_id=permission.id,
            quantity=quantity,
            status=SubscriptionStatus.ACTIVE if paid else SubscriptionStatus.INCOMPLETE,
            billing_anchor=NOW,
            period_index=0,
            current_period_start=NOW,
            current_period_end=end,
            cancel_at_period_end=False,
            metadata_={},
            **tenant,
        )
        session.add(subscription)
        await session.flush()
        number = f"ACME-{new_id('n')[-4:]}"
        invoice = Invoice(
            id=new_id("in"),
            number=number,
            customer_id=customer.id,
            subscription_id=subscription.id,
            period_index=0,
            period_start=NOW,
            period_end=end,
            status=InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
            currency="usd",
            amount_due=1999 * quantity,
            amount_paid=1999 * quantity if paid else 0,
            paid_at=NOW + timedelta(minutes=1) if paid else None,
            **tenant,
        )
        session.add(invoice)
        await session.flush()
        session.add(
            Payment(
                id=new_id("pay"),
                invoice_id=invoice.id,
                customer_id=customer.id,
                permission_id=permission.id,
                status=PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING,
                amount_cents=1999 * quantity,
                amount=1999 * quantity * 10**4,
                network="base-sepolia",
                chain_id=84532,
                token_address=USDC_BASE_SEPOLIA,
                payee=PAYEE,
                tx_hash=TX_HASH if paid else None,
                block_number=1234 if paid else None,
                gas_used=150_000 if paid else None,
                **tenant,
            )
        )
    return Billed(invoice_id=invoice.id, number=number)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_a_paid_invoice_page_shows_the_line_the_amount_and_the_transaction(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
) -> None:
    billed = await _invoice(sessionmaker, workspace.workspace_id, paid=True, quantity=2)

    response = await client.get(hosted_invoice_path(billed.invoice_id, secret=SECRET))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    text = _text(html)
    assert f"Invoice {billed.number}" in text
    assert "Acme" in text
    assert '<span class="status status-paid" id="status">paid</span>' in html
    # The product name is escaped, not injected.
    assert "Pro &lt;plan&gt;" in html
    assert "<plan>" not in html
    assert "2026-03-01 12:00 UTC – 2026-04-01 12:00 UTC" in text
    assert "$19.99 $39.98" in text
    assert '<td class="amount" id="amount-due">$39.98</td>' in html
    assert '<td class="amount" id="amount-paid">$39.98</td>' in html
    assert "39.98 USDC" in text
    assert "Base Sepolia" in text
    assert f'href="https://sepolia.basescan.org/tx/{TX_HASH}"' in html
    assert 'rel="noreferrer noopener"' in html
    assert "Block 1234" in text
    assert PAYEE in text
    assert "Test mode" in text


async def test_an_open_invoice_page_has_no_payment_section(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
) -> None:
    billed = await _invoice(sessionmaker, workspace.workspace_id, paid=False)

    response = await client.get(hosted_invoice_path(billed.invoice_id, secret=SECRET))

    assert response.status_code == 200
    assert '<span class="status status-open" id="status">open</span>' in response.text
    assert '<td class="amount" id="amount-paid">$0.00</td>' in response.text
    assert "Transaction" not in response.text


async def test_a_wrong_token_or_unknown_invoice_is_the_same_404_page(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
) -> None:
    billed = await _invoice(sessionmaker, workspace.workspace_id, paid=True)
    other = await _invoice(sessionmaker, workspace.workspace_id, paid=True)
    token = hosted_token(billed.invoice_id, secret=SECRET)
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    unknown = new_id("in")
    attempts = [
        f"/invoices/{billed.invoice_id}/{flipped}",
        f"/invoices/{billed.invoice_id}/{hosted_token(other.invoice_id, secret=SECRET)}",
        f"/invoices/{billed.invoice_id}/{token}x",
        f"/invoices/{billed.invoice_id}/{token[:-1]}",
        f"/invoices/{billed.invoice_id}/{hosted_token(billed.invoice_id, secret=b'x' * 32)}",
        f"/invoices/{billed.invoice_id}/" + "é" * 43,
        hosted_invoice_path(unknown, secret=SECRET),
        f"/invoices/not-an-id/{token}",
    ]

    responses = [await client.get(path) for path in attempts]

    assert [r.status_code for r in responses] == [404] * len(attempts)
    assert len({r.text for r in responses}) == 1
    assert "Invoice not found" in responses[0].text
    assert billed.number not in responses[0].text
    assert (await client.get(f"/invoices/{billed.invoice_id}")).status_code == 404


async def test_the_page_needs_no_api_key_and_changes_nothing(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
) -> None:
    billed = await _invoice(sessionmaker, workspace.workspace_id, paid=True)

    response = await client.get(
        hosted_invoice_path(billed.invoice_id, secret=SECRET),
        headers={"Authorization": "Bearer sk_test_wrong"},
    )

    assert response.status_code == 200
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_the_secret_comes_from_the_environment(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    billed = await _invoice(sessionmaker, workspace.workspace_id, paid=True)
    secret = "a-real-secret-of-sufficient-length-0123456789"
    monkeypatch.setenv(HOSTED_SECRET_ENV, secret)

    with_default = await client.get(hosted_invoice_path(billed.invoice_id, secret=SECRET))
    with_env = await client.get(hosted_invoice_path(billed.invoice_id, secret=secret.encode()))

    assert with_default.status_code == 404
    assert with_env.status_code == 200


def test_the_url_is_the_public_url_the_invoice_id_and_an_hmac_token() -> None:
    invoice_id = "in_3kTq8kKbJWmuuc3kTq2xPfLm"

    url = hosted_invoice_url(invoice_id, base_url="https://pay.example.com/", secret=SECRET)

    token = hosted_token(invoice_id, secret=SECRET)
    assert url == f"https://pay.example.com/invoices/{invoice_id}/{token}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert token == hosted_token(invoice_id, secret=SECRET)
    assert token != hosted_token("in_3kTq8kKbJWmuuc3kTq2xPfLn", secret=SECRET)
    assert token != hosted_token(invoice_id, secret=b"another-secret-of-at-least-32-bytes!")


def test_the_dev_secret_is_refused_in_production_and_short_secrets_always() -> None:
    real = "r" * 32

    assert hosted_secret({}) == DEV_HOSTED_SECRET.encode()
    assert hosted_secret({HOSTED_SECRET_ENV: real}, environment=Environment.PRODUCTION) == (
        real.encode()
    )
    with pytest.raises(HostedSecretInvalid):
        hosted_secret({}, environment=Environment.PRODUCTION)
    with pytest.raises(HostedSecretInvalid):
        hosted_secret({HOSTED_SECRET_ENV: DEV_HOSTED_SECRET}, environment=Environment.PRODUCTION)
    with pytest.raises(HostedSecretInvalid):
        hosted_secret({HOSTED_SECRET_ENV: "short"})
