"""Checkout: the server decides every term of the permission; the customer only signs it.

`create_session` fixes amount, window, start, expiry, payee, delegate and salt, and stores the
unsigned delegation. `complete_session` accepts nothing but a signature over exactly that
delegation: it rebuilds the delegation from the stored terms, validates the signed context with
the same allow-list used for ERC-7715 grants (manager, delegate, enforcers, token, amount, window,
payee, expiry) and that the signature recovers to the customer, then records customer, permission,
subscription, the first invoice and its payment — with the collection job — in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.chain.errors import NetworkNotFound
from cyphera.chain.models import Network, Token
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import errors
from cyphera.customer import service as customers
from cyphera.delegation import (
    ROOT_AUTHORITY,
    Caveat,
    Delegation,
    DelegationError,
    default_periodic_caveats,
    encode_permission_context,
    typed_data,
    validate_periodic_grant,
)
from cyphera.kit.clock import Clock, to_unix
from cyphera.kit.ids import new_id
from cyphera.kit.money import Cents, cents_to_token_units
from cyphera.kit.periods import START_SKEW, window_seconds
from cyphera.models import CheckoutSession, Payment, PayoutAddress, Price, Subscription
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.models.mixins import Mode
from cyphera.models.permission import PermissionSource
from cyphera.models.price import PriceType
from cyphera.payment.gateway import ChargeGateway
from cyphera.permission import service as permissions
from cyphera.subscription import billing
from cyphera.subscription import service as subscriptions

SESSION_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Completed:
    checkout: CheckoutSession
    subscription: Subscription
    payment: Payment | None


def _network_for_mode(registry: NetworkRegistry, key: str, mode: Mode) -> Network:
    try:
        network = registry.get(key)
    except NetworkNotFound as exc:
        raise errors.NetworkUnsupported(f"unknown network {key!r}", param="network") from exc
    if (mode is Mode.TEST) != network.is_testnet:
        world = "test" if mode is Mode.TEST else "live"
        raise errors.NetworkUnsupported(
            f"{network.name} is not available in {world} mode", param="network"
        )
    return network


def _token(network: Network, symbol: str) -> Token:
    token = network.tokens.get(symbol.upper())
    if token is None:
        raise errors.TokenUnsupported(
            f"{symbol} is not accepted on {network.name}; accepted: {', '.join(sorted(network.tokens))}",
            param="token",
        )
    return token


def delegation_of(checkout: CheckoutSession, signature: bytes = b"") -> Delegation:
    stored = checkout.delegation
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


def signing_request(checkout: CheckoutSession) -> dict[str, Any]:
    """The EIP-712 payload (`eth_signTypedData_v4`) the customer's wallet must sign."""
    return typed_data(
        delegation_of(checkout),
        chain_id=checkout.chain_id,
        delegation_manager=checkout.delegation_manager,
    )


async def create_session(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    price_id: str,
    customer_address: str,
    network_key: str,
    token_symbol: str,
    quantity: int,
    registry: NetworkRegistry,
    gateway: ChargeGateway,
    clock: Clock,
    permission_lifetime: timedelta,
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> CheckoutSession:
    price = (
        await session.execute(
            select(Price).where(
                Price.id == price_id, Price.workspace_id == workspace_id, Price.mode == mode
            )
        )
    ).scalar_one_or_none()
    if price is None:
        raise errors.CheckoutSessionNotFound(f"no such price: {price_id}", param="price")
    if not price.active or price.type is not PriceType.RECURRING:
        raise errors.PriceNotUsable("checkout needs an active recurring price", param="price")
    network = _network_for_mode(registry, network_key, mode)
    token = _token(network, token_symbol)
    payout = (
        await session.execute(
            select(PayoutAddress).where(
                PayoutAddress.workspace_id == workspace_id,
                PayoutAddress.mode == mode,
                PayoutAddress.network == network.key,
            )
        )
    ).scalar_one_or_none()
    if payout is None:
        raise errors.PayoutAddressMissing(
            f"set a payout address for {network.name} before accepting payments there",
            param="network",
        )
    interval, count = subscriptions.plan_of(price)
    redeemer = await gateway.redeemer(network.chain_id)
    now = clock.now().replace(microsecond=0)
    amount_cents = price.unit_amount * quantity
    period_amount = cents_to_token_units(Cents(amount_cents), token_decimals=token.decimals)
    period_seconds = window_seconds(interval, count)
    start_at = now - START_SKEW
    expires_at = now + permission_lifetime
    caveats = default_periodic_caveats(
        network.framework,
        token=token.address,
        period_amount=period_amount,
        period_duration=period_seconds,
        start_date=to_unix(start_at),
        expiry=to_unix(expires_at),
        payee=payout.address,
    )
    delegation = Delegation(
        delegate=redeemer,
        delegator=customer_address,
        authority=ROOT_AUTHORITY,
        caveats=tuple(caveats),
        salt=secrets.randbits(256),
    )
    checkout = CheckoutSession(
        id=new_id("cs"),
        created_at=now,
        updated_at=now,
        workspace_id=workspace_id,
        mode=mode,
        status=CheckoutSessionStatus.OPEN,
        price_id=price.id,
        quantity=quantity,
        network=network.key,
        chain_id=network.chain_id,
        token_symbol=token.symbol,
        token_address=token.address,
        token_decimals=token.decimals,
        customer_address=delegation.delegator,
        payee=payout.address,
        delegate=delegation.delegate,
        delegation_manager=network.framework.delegation_manager,
        amount_cents=amount_cents,
        period_amount=period_amount,
        period_seconds=period_seconds,
        start_at=start_at,
        billing_anchor=now,
        permission_expires_at=expires_at,
        delegation={
            "delegate": delegation.delegate,
            "delegator": delegation.delegator,
            "authority": "0x" + delegation.authority.hex(),
            "caveats": [
                {"enforcer": c.enforcer, "terms": "0x" + c.terms.hex()} for c in delegation.caveats
            ],
            "salt": str(delegation.salt),
        },
        expires_at=now + SESSION_LIFETIME,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata_={},
    )
    session.add(checkout)
    await session.flush()
    return checkout


async def get_session(
    session: AsyncSession, *, workspace_id: str, mode: Mode, checkout_id: str
) -> CheckoutSession:
    checkout = (
        await session.execute(
            select(CheckoutSession).where(
                CheckoutSession.id == checkout_id,
                CheckoutSession.workspace_id == workspace_id,
                CheckoutSession.mode == mode,
            )
        )
    ).scalar_one_or_none()
    if checkout is None:
        raise errors.CheckoutSessionNotFound(f"no such checkout session: {checkout_id}")
    return checkout


async def complete_session(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    checkout_id: str,
    signature: bytes | None = None,
    grant: Mapping[str, Any] | None = None,
    registry: NetworkRegistry,
    clock: Clock,
) -> Completed:
    """Complete `checkout_id` with either the customer's EIP-712 `signature` over the stored
    delegation, or an ERC-7715 `grant` (the wallet's `wallet_requestExecutionPermissions` answer).

    Both are held to the same allow-list and the session's stored terms; an EIP-712 signature must
    also recover to the customer (a 7702 account), while a grant from a smart account is proven by
    the signer's on-chain pre-flight of the first charge.
    """
    if (signature is None) == (grant is None):
        raise errors.PermissionInvalid("send exactly one of `signature` or `grant`")
    checkout = (
        await session.execute(
            select(CheckoutSession)
            .where(
                CheckoutSession.id == checkout_id,
                CheckoutSession.workspace_id == workspace_id,
                CheckoutSession.mode == mode,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if checkout is None:
        raise errors.CheckoutSessionNotFound(f"no such checkout session: {checkout_id}")
    now = clock.now()
    if checkout.status is not CheckoutSessionStatus.OPEN:
        raise errors.CheckoutSessionNotOpen(f"checkout session is {checkout.status.value}")
    if now >= checkout.expires_at:
        raise errors.CheckoutSessionNotOpen("checkout session has expired; create a new one")
    network = registry.get(checkout.network)
    token = _token(network, checkout.token_symbol)
    submitted: Mapping[str, Any] | bytes = (
        encode_permission_context([delegation_of(checkout, signature)])
        if signature is not None
        else dict(grant or {})
    )
    try:
        validated = validate_periodic_grant(
            submitted,
            chain_id=checkout.chain_id,
            framework=network.framework,
            redeemer=checkout.delegate,
            token=checkout.token_address,
            period_amount=checkout.period_amount,
            period_duration=checkout.period_seconds,
            payee=checkout.payee,
            not_after_expiry=to_unix(checkout.permission_expires_at),
            now=to_unix(now),
            start_date=to_unix(checkout.start_at),
            delegator=checkout.customer_address,
            require_signature_match=signature is not None,
        )
    except DelegationError as exc:
        what = "signature" if signature is not None else "grant"
        raise errors.PermissionInvalid(
            f"the {what} does not grant this checkout's permission ({exc.code}): {exc}",
            param=what,
        ) from exc
    # The schedule is anchored at completion, not at session creation: any anchor after the
    # permission's start works, because due dates are at least one on-chain window apart.
    anchor = now.replace(microsecond=0)
    checkout.billing_anchor = anchor
    price = await session.get_one(Price, checkout.price_id)
    customer = await customers.get_or_create_by_address(
        session, workspace_id=workspace_id, mode=mode, address=checkout.customer_address
    )
    permission = await permissions.store(
        session,
        customer=customer,
        network=network.key,
        token=token,
        validated=validated,
        source=PermissionSource.EIP712 if signature is not None else PermissionSource.ERC7715,
    )
    subscription = await subscriptions.create(
        session,
        customer=customer,
        price=price,
        permission=permission,
        quantity=checkout.quantity,
        anchor=anchor,
    )
    # Bills the first period, or nothing while a trial runs (its end bills the first period).
    payment = await billing.start(
        session, subscription=subscription, price=price, permission=permission
    )
    checkout.status = CheckoutSessionStatus.COMPLETE
    checkout.subscription_id = subscription.id
    return Completed(checkout=checkout, subscription=subscription, payment=payment)
