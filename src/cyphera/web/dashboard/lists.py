"""The dashboard's plain lists: customers, invoices, payments, permissions — the API's pages, as
tables (`render_table`, which the coupons and checkout sessions pages extend with their forms).

Each is `list_scoped` (newest first, cursor pages on ``(created_at, id)``) in the member's
workspace and mode, rendered by one template (``dashboard/table.html``) from its columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.resources import list_scoped
from cyphera.chain.networks import NetworkRegistry
from cyphera.customer.service import list_customers
from cyphera.invoice.page import hosted_invoice_url
from cyphera.kit.hosted import hosted_secret
from cyphera.kit.money import format_cents, format_token_units
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models import Invoice, Payment
from cyphera.payment.dependencies import RegistryDep
from cyphera.permission.service import effective_status, list_permissions
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.deps import ActingDep
from cyphera.web.dashboard.frame import frame, next_cursor, pages_of

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
PAGE_SIZE = 25


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    href: str | None = None
    mono: bool = False


async def render_table(
    request: Request,
    session: SessionDep,
    acting: access.Acting,
    *,
    section: str,
    title: str,
    empty: str,
    columns: Sequence[str],
    page: Page[Any],
    cells: Callable[[Any], list[Cell]],
    template: str = "dashboard/table.html",
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """A list page: `page`'s items as rows of `cells` under `columns`; a `template` extending
    ``dashboard/table.html`` adds its own parts (a form) with what `extra` gives it."""
    context = await frame(request, session, acting, section)
    context |= {
        "title": title,
        "empty": empty,
        "columns": columns,
        "rows": [{"id": item.id, "cells": cells(item)} for item in page.items],
        "next": next_cursor(page),
        "path": f"{acting.base}/{section}",
        **(extra or {}),
    }
    return pages_of(request).render(template, context, status_code=status_code)


@router.get(WS + "/customers", response_class=HTMLResponse)
async def dashboard_customers(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
) -> Response:
    page = await list_customers(
        session,
        scope=acting.scope,
        page=PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
    )
    return await render_table(
        request,
        session,
        acting,
        section="customers",
        title="Customers",
        empty="No customers yet. A customer appears when a wallet first subscribes.",
        columns=["Wallet", "Email", "Since", "Subscriptions"],
        page=page,
        cells=lambda c: [
            Cell(c.address, mono=True),
            Cell(c.email or "—"),
            Cell(words.date(c.created_at)),
            Cell("View", href=f"{acting.base}/subscriptions?q={c.address}"),
        ],
    )


@router.get(WS + "/invoices", response_class=HTMLResponse)
async def dashboard_invoices(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    starting_after: str | None = None,
) -> Response:
    page = await list_scoped(
        session,
        Invoice,
        acting.scope,
        PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
    )
    settings = request.app.state.settings
    secret = hosted_secret(environment=settings.environment)
    return await render_table(
        request,
        session,
        acting,
        section="invoices",
        title="Invoices",
        empty="No invoices yet.",
        columns=["Number", "Period", "Amount", "Status", "Subscription"],
        page=page,
        cells=lambda i: [
            Cell(
                i.number,
                href=hosted_invoice_url(i.id, base_url=str(settings.api.public_url), secret=secret),
            ),
            Cell(f"{words.date(i.period_start)} – {words.date(i.period_end)}"),
            Cell(format_cents(i.amount_due, i.currency)),
            Cell(i.status.value),
            Cell(
                i.subscription_id or "—",
                href=f"{acting.base}/subscriptions/{i.subscription_id}"
                if i.subscription_id
                else None,
                mono=True,
            ),
        ],
    )


def _payment_cells(registry: NetworkRegistry) -> Callable[[Payment], list[Cell]]:
    def cells(p: Payment) -> list[Cell]:
        network = registry.get(p.network) if p.network in registry else None
        token = network.token_by_address(p.token_address) if network else None
        tx_url = network.explorer_tx_url(p.tx_hash) if network and p.tx_hash else None
        return [
            Cell(words.moment(p.created_at)),
            Cell(format_cents(p.amount_cents)),
            Cell(f"{network.name if network else p.network} · {token.symbol if token else '?'}"),
            Cell(p.status.value + (f" ({p.failure_code})" if p.failure_code else "")),
            Cell(f"{p.tx_hash[:10]}…" if p.tx_hash else "—", href=tx_url, mono=True),
        ]

    return cells


@router.get(WS + "/payments", response_class=HTMLResponse)
async def dashboard_payments(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    registry: RegistryDep,
    starting_after: str | None = None,
) -> Response:
    page = await list_scoped(
        session,
        Payment,
        acting.scope,
        PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
    )
    return await render_table(
        request,
        session,
        acting,
        section="payments",
        title="Payments",
        empty="No payments yet.",
        columns=["Date", "Amount", "Network and token", "Status", "Transaction"],
        page=page,
        cells=_payment_cells(registry),
    )


@router.get(WS + "/permissions", response_class=HTMLResponse)
async def dashboard_permissions(
    acting: ActingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    starting_after: str | None = None,
) -> Response:
    now = clock.now()
    page = await list_permissions(
        session,
        scope=acting.scope,
        page=PageRequest(limit=PAGE_SIZE, starting_after=starting_after),
        at=now,
    )
    return await render_table(
        request,
        session,
        acting,
        section="permissions",
        title="Permissions",
        empty="No permissions yet. A customer grants one when they subscribe.",
        columns=["Customer wallet", "Up to", "Network", "Status", "Valid until"],
        page=page,
        cells=lambda p: [
            Cell(p.account, mono=True),
            Cell(
                format_token_units(
                    p.period_amount, decimals=p.token_decimals, symbol=p.token_symbol
                )
                + " "
                + words.every(p.period_seconds)
            ),
            Cell(p.network),
            Cell(effective_status(p, at=now).value),
            Cell(words.date(p.expires_at)),
        ],
    )
