"""A checkout session's terms: what the customer signs, and how the server fixes it.

The server decides every term of the permission; the customer only signs it. `fix_terms` fixes
amount, window, start, expiry, payee, delegate and salt for the wallet, network and token chosen
(`determined_choice`) among those the session offers, and stores the unsigned delegation;
`terms_of` reads them back, `delegation_of` rebuilds the delegation from them and
`signing_request` is the EIP-712 payload the wallet signs. Creating a session
(`cyphera.checkout.service`) and preparing one (`cyphera.checkout.completion`) both fix terms here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope
from cyphera.chain.errors import NetworkNotFound
from cyphera.chain.models import Network, Token
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import errors
from cyphera.delegation import Caveat, Delegation, typed_data
from cyphera.delegation.erc7715 import build_periodic_permission_request
from cyphera.kit.clock import to_unix
from cyphera.kit.money import format_cents
from cyphera.models import CheckoutSession, PayoutAddress, Price
from cyphera.models.mixins import Mode
from cyphera.payment.gateway import ChargeGateway
from cyphera.permission import request as permission_requests


@dataclass(frozen=True, slots=True)
class Terms:
    """A prepared session's terms, as stored (`TERM_COLUMNS`, all set once prepared)."""

    network: str
    chain_id: int
    token_symbol: str
    token_address: str
    customer_address: str
    payee: str
    delegate: str
    delegation_manager: str
    period_amount: int
    period_seconds: int
    start_at: datetime
    permission_expires_at: datetime
    delegation: dict[str, Any]


_TERM_FIELDS = tuple(f.name for f in fields(Terms))


def terms_of(checkout: CheckoutSession) -> Terms | None:
    """The session's terms, or None while it is not prepared."""
    values = {name: getattr(checkout, name) for name in _TERM_FIELDS}
    if any(value is None for value in values.values()):
        return None
    return Terms(**values)


def prepared_terms(checkout: CheckoutSession) -> Terms:
    terms = terms_of(checkout)
    if terms is None:
        raise errors.CheckoutSessionNotPrepared(
            f"checkout session {checkout.id} has no terms yet: choose the customer's wallet, "
            f"network and token with POST /v1/checkout/sessions/{checkout.id}/prepare"
        )
    return terms


def network_for_mode(
    registry: NetworkRegistry, key: str, mode: Mode, *, param: str = "network"
) -> Network:
    try:
        network = registry.get(key)
    except NetworkNotFound as exc:
        raise errors.NetworkUnsupported(f"unknown network {key!r}", param=param) from exc
    if (mode is Mode.TEST) != network.is_testnet:
        world = "test" if mode is Mode.TEST else "live"
        raise errors.NetworkUnsupported(
            f"{network.name} is not available in {world} mode", param=param
        )
    return network


def token_of(network: Network, symbol: str) -> Token:
    token = network.tokens.get(symbol.upper())
    if token is None:
        raise errors.TokenUnsupported(
            f"{symbol} is not accepted on {network.name}; accepted: {', '.join(sorted(network.tokens))}",
            param="token",
        )
    return token


def delegation_of(terms: Terms, signature: bytes = b"") -> Delegation:
    stored = terms.delegation
    return Delegation(
        delegate=stored["delegate"],
        delegator=stored["delegator"],
        authority=bytes.fromhex(stored["authority"].removeprefix("0x")),
        caveats=tuple(
            Caveat(enforcer=c["enforcer"], terms=bytes.fromhex(c["terms"].removeprefix("0x")))
            for c in stored["caveats"]
        ),
        salt=int(stored["salt"]),
        signature=signature,
    )


def signing_request(terms: Terms) -> dict[str, Any]:
    """The EIP-712 payload (`eth_signTypedData_v4`) the customer's wallet must sign."""
    return typed_data(
        delegation_of(terms),
        chain_id=terms.chain_id,
        delegation_manager=terms.delegation_manager,
    )


def erc7715_request(checkout: CheckoutSession, terms: Terms) -> dict[str, Any]:
    """The same terms as one ERC-7715 `erc20-token-periodic` request (an item of
    ``wallet_requestExecutionPermissions`` params), for wallets with Advanced Permissions."""
    return build_periodic_permission_request(
        chain_id=terms.chain_id,
        redeemer=terms.delegate,
        token=terms.token_address,
        period_amount=terms.period_amount,
        period_duration=terms.period_seconds,
        start_time=to_unix(terms.start_at),
        expiry=to_unix(terms.permission_expires_at),
        payee=terms.payee,
        justification=f"Subscription payments of {format_cents(checkout.amount_cents)} per "
        "billing period",
        from_address=terms.customer_address,
    )


async def payout_addresses(session: AsyncSession, scope: Scope) -> dict[str, str]:
    rows = await session.execute(
        select(PayoutAddress.network, PayoutAddress.address).where(
            PayoutAddress.workspace_id == scope.workspace_id, PayoutAddress.mode == scope.mode
        )
    )
    return {row.network: row.address for row in rows}


def determined_choice(
    checkout: CheckoutSession,
    registry: NetworkRegistry,
    *,
    network_key: str | None,
    token_symbol: str | None,
) -> tuple[Network, Token] | None:
    """The network and token chosen, or the only ones on offer; None while there is a choice."""
    if network_key is None:
        if len(checkout.accepted_networks) != 1:
            return None
        network_key = checkout.accepted_networks[0]
    if network_key not in checkout.accepted_networks:
        raise errors.NetworkUnsupported(
            f"network {network_key!r} is not accepted by this checkout; choose one of "
            f"{', '.join(checkout.accepted_networks)}",
            param="network",
        )
    network = registry.get(network_key)
    offered = [symbol for symbol in checkout.accepted_tokens if symbol in network.tokens]
    if token_symbol is None:
        if len(offered) != 1:
            return None
        token_symbol = offered[0]
    if token_symbol.upper() not in offered:
        raise errors.TokenUnsupported(
            f"{token_symbol} is not accepted on {network.name} by this checkout; choose one of "
            f"{', '.join(offered)}",
            param="token",
        )
    return network, token_of(network, token_symbol)


async def fix_terms(
    session: AsyncSession,
    checkout: CheckoutSession,
    *,
    customer_address: str,
    price: Price,
    network: Network,
    token: Token,
    payee: str,
    gateway: ChargeGateway,
    now: datetime,
    permission_lifetime: timedelta,
) -> None:
    """Store the terms of `checkout` for the wallet, network and token chosen."""
    terms = permission_requests.periodic_terms(
        price=price,
        quantity=checkout.quantity,
        network=network,
        token=token,
        customer_address=customer_address,
        payee=payee,
        redeemer=await gateway.redeemer(network.chain_id),
        now=now,
        permission_lifetime=permission_lifetime,
    )
    for column, value in terms.checkout_columns().items():
        setattr(checkout, column, value)
    checkout.updated_at = now
