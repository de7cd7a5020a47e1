"""What the portal pages show of a subscription, computed from the services' answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cyphera.chain.networks import NetworkRegistry
from cyphera.invoice.page import hosted_invoice_url
from cyphera.kit.money import format_cents, format_token_units
from cyphera.models import Invoice, Payment
from cyphera.models.mixins import Mode
from cyphera.models.permission import PermissionStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.permission.service import describe, effective_status
from cyphera.portal.service import History, PortalSubscription
from cyphera.web import words

S = SubscriptionStatus
STATUS_WORDS = {
    S.INCOMPLETE: "Waiting for the first payment",
    S.INCOMPLETE_EXPIRED: "Never started",
    S.TRIALING: "Trial",
    S.ACTIVE: "Active",
    S.PAST_DUE: "Payment failed — retrying",
    S.UNPAID: "Unpaid",
    S.PAUSED: "Paused",
    S.CANCELED: "Canceled",
}
REASON_WORDS = {
    "permission_revoked": "you revoked the permission",
    "cancellation_requested": "canceled on request",
    "payment_failed": "payments failed",
}
LIVE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED, S.INCOMPLETE, S.UNPAID})


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    merchant: str
    product: str
    price: str
    status: str
    status_key: str
    next: str
    livemode: bool


def _next(item: PortalSubscription, amount: str) -> str:
    s = item.subscription
    if s.status is S.CANCELED:
        reason = REASON_WORDS.get(s.cancellation_reason or "", "")
        ended = words.date(s.ended_at or s.current_period_end)
        return f"Ended on {ended}" + (f" ({reason})" if reason else "")
    if s.status not in LIVE:
        return "No charges"
    if s.cancel_at_period_end:
        return f"Ends on {words.date(s.current_period_end)}; no more charges"
    if s.status is S.PAUSED:
        return "Paused: nothing is charged"
    if s.status is S.TRIALING and s.trial_end is not None:
        return f"Trial ends {words.date(s.trial_end)}; first charge {amount} then"
    return f"Next charge {amount} on {words.date(s.current_period_end)}"


def row(item: PortalSubscription) -> Row:
    price = words.price_of(item.price, item.subscription.quantity)
    product = item.product.name
    if item.subscription.quantity > 1:
        product = f"{item.subscription.quantity} × {product}"
    return Row(
        id=item.subscription.id,
        merchant=item.workspace.name,
        product=product,
        price=price,
        status=STATUS_WORDS[item.subscription.status],
        status_key=item.subscription.status.value,
        next=_next(
            item,
            format_cents(item.price.unit_amount * item.subscription.quantity, item.price.currency),
        ),
        livemode=item.subscription.mode is Mode.LIVE,
    )


def permission_view(
    item: PortalSubscription, registry: NetworkRegistry, *, now: Any
) -> dict[str, Any] | None:
    permission = item.permission
    if permission is None:
        return None
    network = registry.get(permission.network) if permission.network in registry else None
    terms = describe(permission, registry=registry).terms
    amount = format_token_units(
        terms.amount_per_period,
        decimals=terms.token_decimals,
        symbol=terms.token_symbol or permission.token_symbol,
    )
    status = effective_status(permission, at=now)
    return {
        "sentence": words.terms_sentence(
            amount=amount,
            period=words.every(terms.period_seconds),
            payee=terms.payee,
            until=words.date(terms.expires_at),
        ),
        "network": network.name if network else permission.network,
        "account": permission.account,
        "status": status.value,
        "active": status is PermissionStatus.ACTIVE,
        "revoked_at": words.moment(permission.revoked_at) if permission.revoked_at else None,
    }


def history_view(
    history: History, registry: NetworkRegistry, *, base_url: str, secret: bytes
) -> dict[str, list[dict[str, Any]]]:
    def invoice(i: Invoice) -> dict[str, Any]:
        return {
            "number": i.number,
            "date": words.date(i.created_at),
            "amount": format_cents(i.amount_due, i.currency),
            "status": i.status.value,
            "url": hosted_invoice_url(i.id, base_url=base_url, secret=secret),
        }

    def payment(p: Payment) -> dict[str, Any]:
        network = registry.get(p.network) if p.network in registry else None
        return {
            "date": words.moment(p.created_at),
            "amount": format_cents(p.amount_cents),
            "status": p.status.value,
            "network": network.name if network else p.network,
            "tx_hash": p.tx_hash,
            "tx_url": network.explorer_tx_url(p.tx_hash) if network and p.tx_hash else None,
        }

    return {
        "invoices": [invoice(i) for i in history.invoices],
        "payments": [payment(p) for p in history.payments],
    }
