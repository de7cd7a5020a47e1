"""The hosted invoice page: a public HTML view of one invoice, for the customer who pays it.

``GET /invoices/{invoice_id}/{token}`` needs no API key. The token is the capability: an HMAC of
the invoice id under a server secret, so it cannot be guessed or derived from the id alone, and
every invoice has exactly one page URL that stays valid for the invoice's lifetime::

    token = base64url_nopad(HMAC-SHA256(secret, "cyphera.hosted_invoice.v1:" + invoice_id))
    url   = settings.api.public_url + "/invoices/" + invoice_id + "/" + token

`hosted_invoice_url` builds it (the invoice JSON carries it as ``hosted_invoice_url``). The secret is read from
the environment variable ``CYPHERA_HOSTED_SECRET`` (UTF-8 text, at least 32 characters); without it
a development default is used, which the page refuses to serve under ``production``. Rotating the
secret changes every invoice's URL (old links then show "not found").

A wrong token and an unknown invoice get the same 404 page: the page never confirms that an id
exists. The token is compared in constant time. The page sends ``Referrer-Policy: no-referrer``
(the token is in the URL, and the page links to a block explorer) and is not cached or indexed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.dependencies import SessionDep
from cyphera.chain.networks import NetworkRegistry
from cyphera.config import Environment as DeploymentEnvironment
from cyphera.kit.hosted import (
    HostedSecretInvalid,
    capability_token,
    hosted_secret,
    token_matches,
)
from cyphera.kit.ids import has_prefix
from cyphera.kit.money import format_cents, format_token_units
from cyphera.models import (
    Invoice,
    InvoiceLineItem,
    Payment,
    Price,
    Product,
    Subscription,
    Workspace,
)
from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus

INVOICE_ID_PREFIX = "in"
_TOKEN_CONTEXT = b"cyphera.hosted_invoice.v1:"
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}

log = structlog.get_logger(__name__)
router = APIRouter()
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


def hosted_token(invoice_id: str, *, secret: bytes) -> str:
    """The URL token of `invoice_id`'s hosted page (see the module docstring)."""
    return capability_token(_TOKEN_CONTEXT, invoice_id, secret=secret)


def hosted_invoice_path(invoice_id: str, *, secret: bytes) -> str:
    return f"/invoices/{invoice_id}/{hosted_token(invoice_id, secret=secret)}"


def hosted_invoice_url(invoice_id: str, *, base_url: str, secret: bytes) -> str:
    """The public URL of `invoice_id`'s page; `base_url` is ``settings.api.public_url``."""
    return base_url.rstrip("/") + hosted_invoice_path(invoice_id, secret=secret)


@router.get("/invoices/{invoice_id}/{token}", include_in_schema=False, response_class=HTMLResponse)
async def hosted_invoice_page(
    invoice_id: str, token: str, request: Request, session: SessionDep
) -> HTMLResponse:
    settings = getattr(request.app.state, "settings", None)
    environment = getattr(settings, "environment", DeploymentEnvironment.DEVELOPMENT)
    try:
        secret = hosted_secret(environment=environment)
    except HostedSecretInvalid as exc:
        log.error("invoice.hosted_page_unconfigured", error=str(exc))
        return _page("unavailable.html", {}, status_code=503)
    if not _token_matches(invoice_id, token, secret):
        return _not_found()
    # Unscoped on purpose: no API key here; the HMAC token above is the proof of access.
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        return _not_found()
    registry = getattr(request.app.state, "registry", None)
    context = await _context(
        session, invoice, registry if isinstance(registry, NetworkRegistry) else None
    )
    return _page("invoice.html", context)


def _token_matches(invoice_id: str, token: str, secret: bytes) -> bool:
    if not has_prefix(invoice_id, INVOICE_ID_PREFIX):
        return False
    return token_matches(_TOKEN_CONTEXT, invoice_id, token, secret=secret)


async def _context(
    session: AsyncSession, invoice: Invoice, registry: NetworkRegistry | None
) -> dict[str, Any]:
    workspace = await session.get_one(Workspace, invoice.workspace_id)
    lines = [
        {
            "description": item.description,
            "quantity": item.quantity,
            "unit_amount": None
            if item.unit_amount is None
            else format_cents(item.unit_amount, invoice.currency),
            "amount": format_cents(item.amount, invoice.currency),
            "kind": item.kind.value,
        }
        for item in (
            await session.scalars(
                select(InvoiceLineItem)
                .where(InvoiceLineItem.invoice_id == invoice.id)
                .order_by(InvoiceLineItem.position)
            )
        )
    ]
    line: dict[str, Any] | None = None
    if not lines and invoice.subscription_id is not None:
        subscription = await session.get_one(Subscription, invoice.subscription_id)
        price = await session.get_one(Price, subscription.price_id)
        product = await session.get_one(Product, price.product_id)
        line = {
            "description": product.name,
            "quantity": subscription.quantity,
            "unit_amount": format_cents(price.unit_amount, price.currency),
            "amount": format_cents(price.unit_amount * subscription.quantity, price.currency),
        }
    payment = await session.scalar(
        select(Payment)
        .where(Payment.invoice_id == invoice.id, Payment.status == PaymentStatus.SUCCEEDED)
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    paid: dict[str, Any] | None = None
    if payment is not None:
        network = (
            registry.get(payment.network) if registry and payment.network in registry else None
        )
        token = network.token_by_address(payment.token_address) if network else None
        paid = {
            "tx_hash": payment.tx_hash,
            "tx_url": network.explorer_tx_url(payment.tx_hash)
            if network and payment.tx_hash
            else None,
            "network": network.name if network else payment.network,
            "block_number": payment.block_number,
            "amount_token": format_token_units(
                payment.amount, decimals=token.decimals, symbol=token.symbol
            )
            if token
            else f"{payment.amount} base units",
            "payee": payment.payee,
        }
    return {
        "merchant": workspace.name,
        "number": invoice.number,
        "status": invoice.status.value,
        "livemode": invoice.mode is Mode.LIVE,
        "period_start": invoice.period_start.strftime("%Y-%m-%d %H:%M UTC"),
        "period_end": invoice.period_end.strftime("%Y-%m-%d %H:%M UTC"),
        "line": line,
        "lines": lines,
        "amount_due": format_cents(invoice.amount_due, invoice.currency),
        "amount_paid": format_cents(invoice.amount_paid, invoice.currency),
        "paid_at": invoice.paid_at.strftime("%Y-%m-%d %H:%M UTC") if invoice.paid_at else None,
        "payment": paid,
    }


def _not_found() -> HTMLResponse:
    return _page("not_found.html", {}, status_code=404)


def _page(template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)
