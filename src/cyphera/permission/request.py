"""The terms of the periodic permission the server asks a customer to grant for a price.

The server decides every term — amount per on-chain window, window length, start, expiry, payee,
delegate, salt — and the customer only signs them. New checkouts and price changes that need a
new permission (a larger cap or another interval, `cyphera.subscription.pending`) both build
their request here, so the two can never ask for different things for the same price.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cyphera.chain.models import Network, Token
from cyphera.delegation import ROOT_AUTHORITY, Delegation, default_periodic_caveats
from cyphera.kit.clock import to_unix
from cyphera.kit.money import Cents, cents_to_token_units
from cyphera.kit.periods import START_SKEW, Interval, window_seconds
from cyphera.models import Price


@dataclass(frozen=True, slots=True)
class RequestedTerms:
    """An unsigned root delegation and the human terms it encodes."""

    network: Network
    token: Token
    delegation: Delegation
    payee: str
    amount_cents: int
    period_amount: int
    period_seconds: int
    start_at: datetime
    expires_at: datetime

    def checkout_columns(self) -> dict[str, Any]:
        """The `CheckoutSession` columns these terms fix."""
        delegation = self.delegation
        return {
            "network": self.network.key,
            "chain_id": self.network.chain_id,
            "token_symbol": self.token.symbol,
            "token_address": self.token.address,
            "token_decimals": self.token.decimals,
            "customer_address": delegation.delegator,
            "payee": self.payee,
            "delegate": delegation.delegate,
            "delegation_manager": self.network.framework.delegation_manager,
            "amount_cents": self.amount_cents,
            "period_amount": self.period_amount,
            "period_seconds": self.period_seconds,
            "start_at": self.start_at,
            "permission_expires_at": self.expires_at,
            "delegation": {
                "delegate": delegation.delegate,
                "delegator": delegation.delegator,
                "authority": "0x" + delegation.authority.hex(),
                "caveats": [
                    {"enforcer": c.enforcer, "terms": "0x" + c.terms.hex()}
                    for c in delegation.caveats
                ],
                "salt": str(delegation.salt),
            },
        }


def periodic_terms(
    *,
    price: Price,
    quantity: int,
    network: Network,
    token: Token,
    customer_address: str,
    payee: str,
    redeemer: str,
    now: datetime,
    permission_lifetime: timedelta,
    start_at: datetime | None = None,
) -> RequestedTerms:
    """The permission for `quantity` × recurring `price`, asked at `now`.

    The window is the plan's shortest gap between due dates (`cyphera.kit.periods`). It starts
    `START_SKEW` before `now`, or at `start_at`: a replacement permission for a larger cap keeps
    the window grid of the one it replaces, so the subscription's schedule lands in the same
    windows as before. One for another interval has another window length, so it starts afresh
    (no `start_at`), as a new checkout's does.
    """
    if price.recurring_interval is None or price.recurring_interval_count is None:
        raise ValueError(f"price {price.id} is not recurring")
    now = now.replace(microsecond=0)
    amount_cents = price.unit_amount * quantity
    start = now - START_SKEW if start_at is None else start_at
    expires_at = now + permission_lifetime
    period_amount = cents_to_token_units(Cents(amount_cents), token_decimals=token.decimals)
    period_seconds = window_seconds(
        Interval(price.recurring_interval), price.recurring_interval_count
    )
    caveats = default_periodic_caveats(
        network.framework,
        token=token.address,
        period_amount=period_amount,
        period_duration=period_seconds,
        start_date=to_unix(start),
        expiry=to_unix(expires_at),
        payee=payee,
    )
    delegation = Delegation(
        delegate=redeemer,
        delegator=customer_address,
        authority=ROOT_AUTHORITY,
        caveats=tuple(caveats),
        salt=secrets.randbits(256),
    )
    return RequestedTerms(
        network=network,
        token=token,
        delegation=delegation,
        payee=payee,
        amount_cents=amount_cents,
        period_amount=period_amount,
        period_seconds=period_seconds,
        start_at=start,
        expires_at=expires_at,
    )
