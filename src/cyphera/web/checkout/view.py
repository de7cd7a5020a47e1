"""What the hosted checkout shows, computed from the services' answers (display only).

`terms_in_words` reads the on-chain terms from the stored delegation's caveat bytes — what the
wallet will sign — not from the price they were computed from.
"""

from __future__ import annotations

from dataclasses import dataclass

from cyphera.chain.models import Token
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout.service import FirstCharge, Overview
from cyphera.checkout.terms import Terms, delegation_of
from cyphera.delegation import read_periodic
from cyphera.kit.money import Cents, cents_to_token_units, format_cents, format_token_units
from cyphera.models import CheckoutSession
from cyphera.web import words


@dataclass(frozen=True, slots=True)
class TermsInWords:
    sentence: str
    amount: str
    every: str
    payee: str
    starts: str
    until: str
    network: str


def terms_in_words(terms: Terms, registry: NetworkRegistry) -> TermsInWords:
    network = registry.get(terms.network)
    caveats = read_periodic(delegation_of(terms).caveats, network.framework)
    token = network.token_by_address(caveats.token)
    amount = (
        format_token_units(caveats.period_amount, decimals=token.decimals, symbol=token.symbol)
        if token is not None
        else f"{caveats.period_amount} base units of {caveats.token}"
    )
    every = words.every(caveats.period_duration)
    payee = caveats.payee or "any address"
    until = words.date(caveats.expiry) if caveats.expiry is not None else "it is revoked"
    return TermsInWords(
        sentence=words.terms_sentence(amount=amount, period=every, payee=payee, until=until),
        amount=amount,
        every=every,
        payee=payee,
        starts=words.moment(caveats.start_date),
        until=until,
        network=network.name,
    )


def price_in_words(overview: Overview, quantity: int) -> str:
    return words.price(
        overview.unit_amount_cents * quantity,
        overview.currency,
        overview.interval,
        overview.interval_count,
    )


def networks_offered(
    checkout: CheckoutSession, registry: NetworkRegistry
) -> list[dict[str, object]]:
    """The networks and tokens the customer may choose, as the page's script reads them."""
    offered = []
    for key in checkout.accepted_networks:
        network = registry.get(key)
        tokens = [symbol for symbol in checkout.accepted_tokens if symbol in network.tokens]
        offered.append(
            {
                "key": network.key,
                "name": network.name,
                "chain_id": network.chain_id,
                "tokens": tokens,
            }
        )
    return offered


@dataclass(frozen=True, slots=True)
class FirstChargeInWords:
    amount: str  # token base units, decimal string ("" before a token is chosen)
    display: str
    is_due_now: bool
    date: str
    sentence: str
    discount: str | None


def first_charge_in_words(charge: FirstCharge, token: Token | None = None) -> FirstChargeInWords:
    """The first charge in the token chosen, or in dollars before one is."""
    if token is None:
        amount, display = "", format_cents(charge.amount_cents)
    else:
        units = cents_to_token_units(Cents(charge.amount_cents), token_decimals=token.decimals)
        amount = str(units)
        display = format_token_units(units, decimals=token.decimals, symbol=token.symbol)
    date = words.date(charge.at)
    if charge.for_change:
        sentence = (
            f"{display} is charged now for the change"
            if charge.is_due_now
            else "Nothing is charged now; the change shows on your next invoice"
        )
    elif charge.is_due_now:
        sentence = f"{display} is charged now"
    else:
        sentence = f"Free for {charge.trial_days} days, then {display} on {date}"
    return FirstChargeInWords(
        amount=amount,
        display=display,
        is_due_now=charge.is_due_now,
        date=date,
        sentence=sentence,
        discount=charge.discount,
    )
