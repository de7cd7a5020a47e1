"""Checkout: the server decides every term of the permission; the customer only signs it.

`create_session` fixes amount, window, start, expiry, payee, delegate and salt, and stores the
unsigned delegation. `complete_session` accepts nothing but a signature over exactly that
delegation: it rebuilds the delegation from the stored terms, validates the signed context with
the same allow-list used for ERC-7715 grants (manager, delegate, enforcers, token, amount, window,
payee, expiry) and that the signature recovers to the customer, then records customer, permission,
subscription, the first invoice and its payment — with the collection job — in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from cyphera.coupon import service as coupons
from cyphera.customer import service as customers
from cyphera.delegation import (
    Caveat,
    Delegation,
    DelegationError,
    ValidatedPermission,
    encode_permission_context,
    typed_data,
    validate_periodic_grant,
)
from cyphera.kit.clock import Clock, FrozenClock, to_unix
from cyphera.kit.ids import new_id
from cyphera.models import (
    CheckoutSession,
    Customer,
    Payment,
    PayoutAddress,
    Price,
    Subscription,
    TestClock,
)
from cyphera.models.checkout_session import CheckoutSessionPurpose, CheckoutSessionStatus
from cyphera.models.mixins import Mode
from cyphera.models.permission import PermissionSource
from cyphera.models.price import PriceType
from cyphera.models.test_clock import TestClockStatus
from cyphera.payment.gateway import ChargeGateway
from cyphera.permission import request as permission_requests
from cyphera.permission import service as permissions
from cyphera.subscription import billing, changes
from cyphera.subscription import service as subscriptions
from cyphera.testclock import clock as test_clocks
from cyphera.testclock import errors as test_clock_errors

SESSION_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Completed:
    checkout: CheckoutSession
    terms: Terms
    subscription: Subscription
    payment: Payment | None


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


def _network_for_mode(
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


def _token(network: Network, symbol: str) -> Token:
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


async def _payout_addresses(session: AsyncSession, scope: Scope) -> dict[str, str]:
    rows = await session.execute(
        select(PayoutAddress.network, PayoutAddress.address).where(
            PayoutAddress.workspace_id == scope.workspace_id, PayoutAddress.mode == scope.mode
        )
    )
    return {row.network: row.address for row in rows}


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _accepted(
    registry: NetworkRegistry,
    mode: Mode,
    payouts: Mapping[str, str],
    *,
    networks: Sequence[str] | None,
    tokens: Sequence[str] | None,
) -> tuple[list[Network], list[str]]:
    """The networks and token symbols a session offers: those asked for, each checked, or by
    default every network of the mode with a payout address and every token they carry."""
    wanted_tokens = None if tokens is None else _unique([t.upper() for t in tokens])
    if networks is not None:
        chosen = [
            _network_for_mode(registry, key, mode, param="networks") for key in _unique(networks)
        ]
        for network in chosen:
            if network.key not in payouts:
                raise errors.PayoutAddressMissing(
                    f"set a payout address for {network.name} before accepting payments there",
                    param="networks",
                )
            if wanted_tokens is not None and not set(wanted_tokens) & set(network.tokens):
                raise errors.TokenUnsupported(
                    f"{network.name} carries none of {', '.join(wanted_tokens)}; it accepts "
                    f"{', '.join(sorted(network.tokens))}",
                    param="tokens",
                )
    else:
        chosen = [
            network
            for network in registry
            if network.is_testnet == (mode is Mode.TEST) and network.key in payouts
        ]
        if not chosen:
            world = "test" if mode is Mode.TEST else "live"
            raise errors.PayoutAddressMissing(
                f"no {world}-mode network has a payout address: set one with "
                "POST /v1/payout_addresses/{network}",
                param="networks",
            )
        if wanted_tokens is not None:
            chosen = [n for n in chosen if set(wanted_tokens) & set(n.tokens)] or chosen
    carried = {symbol for network in chosen for symbol in network.tokens}
    if wanted_tokens is None:
        return chosen, sorted(carried)
    for symbol in wanted_tokens:
        if symbol not in carried:
            raise errors.TokenUnsupported(
                f"{symbol} is not carried by any accepted network; they carry "
                f"{', '.join(sorted(carried))}",
                param="tokens",
            )
    return chosen, wanted_tokens


async def _session_clock(
    session: AsyncSession, scope: Scope, test_clock_id: str | None, clock: Clock
) -> Clock:
    if test_clock_id is None:
        return clock
    # Test mode only: every term is computed at the clock's time.
    if scope.mode is not Mode.TEST:
        raise test_clock_errors.TestClockLiveMode(
            "test clocks exist in test mode only", param="test_clock"
        )
    test_clock = await test_clocks.get_test_clock(session, scope, test_clock_id, param="test_clock")
    return FrozenClock(test_clock.frozen_time)


async def create_session(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    price_id: str,
    quantity: int,
    registry: NetworkRegistry,
    gateway: ChargeGateway,
    clock: Clock,
    permission_lifetime: timedelta,
    networks: Sequence[str] | None = None,
    tokens: Sequence[str] | None = None,
    customer_address: str | None = None,
    network_key: str | None = None,
    token_symbol: str | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
    test_clock_id: str | None = None,
    coupon_id: str | None = None,
) -> CheckoutSession:
    """Open a session for `price_id` offering `networks` × `tokens` (by default all the mode's
    networks with a payout address, and their tokens).

    `network_key`/`token_symbol` pick one network or token (alone they narrow the offer to it).
    When the wallet is known and network and token are determined, the session is prepared at
    once; otherwise `prepare_session` fixes the terms later.
    """
    scope = Scope(workspace_id, mode)
    clock = await _session_clock(session, scope, test_clock_id, clock)
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
    if coupon_id is not None:
        await coupons.redeemable(
            session, scope=scope, coupon_id=coupon_id, currency=price.currency, now=clock.now()
        )
    if network_key is not None:
        network = _network_for_mode(registry, network_key, mode)
        if networks is None:
            networks = [network.key]
        elif network.key not in networks:
            raise errors.NetworkUnsupported(
                f"network {network.key!r} is not among `networks`", param="network"
            )
    if token_symbol is not None:
        if tokens is None:
            tokens = [token_symbol]
        elif token_symbol.upper() not in {t.upper() for t in tokens}:
            raise errors.TokenUnsupported(f"{token_symbol} is not among `tokens`", param="token")
    payouts = await _payout_addresses(session, scope)
    accepted_networks, accepted_tokens = _accepted(
        registry, mode, payouts, networks=networks, tokens=tokens
    )
    now = clock.now().replace(microsecond=0)
    checkout = CheckoutSession(
        id=new_id("cs"),
        created_at=now,
        updated_at=now,
        workspace_id=workspace_id,
        mode=mode,
        status=CheckoutSessionStatus.OPEN,
        price_id=price.id,
        quantity=quantity,
        accepted_networks=[network.key for network in accepted_networks],
        accepted_tokens=accepted_tokens,
        amount_cents=price.unit_amount * quantity,
        billing_anchor=now,
        customer_address=customer_address,
        customer_address_fixed=customer_address is not None,
        expires_at=now + SESSION_LIFETIME,
        success_url=success_url,
        cancel_url=cancel_url,
        test_clock_id=test_clock_id,
        coupon_id=coupon_id,
        metadata_={},
    )
    session.add(checkout)
    choice = _determined(checkout, registry, network_key=network_key, token_symbol=token_symbol)
    if customer_address is not None and choice is not None:
        await _fix_terms(
            session,
            checkout,
            customer_address=customer_address,
            price=price,
            network=choice[0],
            token=choice[1],
            payee=payouts[choice[0].key],
            gateway=gateway,
            now=now,
            permission_lifetime=permission_lifetime,
        )
    await session.flush()
    return checkout


def _determined(
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
    return network, _token(network, token_symbol)


async def _fix_terms(
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


async def prepare_session(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    checkout_id: str,
    customer_address: str | None,
    network_key: str | None,
    token_symbol: str | None,
    registry: NetworkRegistry,
    gateway: ChargeGateway,
    clock: Clock,
    permission_lifetime: timedelta,
) -> CheckoutSession:
    """Fix the terms of an open session for the customer's wallet, network and token.

    Network and token may be left out when the session offers only one. Preparing again with the
    same choice keeps the terms (a signature in flight stays valid); a different choice replaces
    them, so only a signature over the newest terms completes the session.
    """
    checkout = await _locked(session, workspace_id=workspace_id, mode=mode, checkout_id=checkout_id)
    if checkout.test_clock_id is not None:
        clock = await _test_clock_time(session, checkout.test_clock_id)
    now = clock.now().replace(microsecond=0)
    _require_open(checkout, now)
    if checkout.purpose is not CheckoutSessionPurpose.SUBSCRIPTION:
        raise errors.CheckoutTermsFixed(
            "this session asks for a permission on the subscription's own wallet, network and "
            "token; complete it as it is"
        )
    previous = terms_of(checkout)
    if customer_address is not None and customer_address != checkout.customer_address:
        if checkout.customer_address_fixed:
            raise errors.CustomerAddressMismatch(
                f"this checkout is for wallet {checkout.customer_address}",
                param="customer_address",
            )
        checkout.customer_address = customer_address
    wallet = checkout.customer_address
    if wallet is None:
        raise errors.CustomerAddressRequired(
            "say which wallet will pay: `customer_address`", param="customer_address"
        )
    choice = _determined(checkout, registry, network_key=network_key, token_symbol=token_symbol)
    if choice is None:
        if network_key is None and len(checkout.accepted_networks) != 1:
            raise errors.ChoiceRequired(
                f"choose `network`: one of {', '.join(checkout.accepted_networks)}",
                param="network",
            )
        chosen = registry.get(network_key or checkout.accepted_networks[0])
        offered = [symbol for symbol in checkout.accepted_tokens if symbol in chosen.tokens]
        raise errors.ChoiceRequired(
            f"choose `token`: one of {', '.join(offered)} on {chosen.name}", param="token"
        )
    network, token = choice
    if (
        previous is not None
        and previous.network == network.key
        and previous.token_symbol == token.symbol
        and previous.customer_address == wallet
    ):
        return checkout
    payee = (await _payout_addresses(session, Scope(workspace_id, mode))).get(network.key)
    if payee is None:
        raise errors.PayoutAddressMissing(
            f"the merchant has no payout address on {network.name} any more", param="network"
        )
    await _fix_terms(
        session,
        checkout,
        customer_address=wallet,
        price=await session.get_one(Price, checkout.price_id),
        network=network,
        token=token,
        payee=payee,
        gateway=gateway,
        now=now,
        permission_lifetime=permission_lifetime,
    )
    await session.flush()
    return checkout


async def _locked(
    session: AsyncSession, *, workspace_id: str, mode: Mode, checkout_id: str
) -> CheckoutSession:
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
    return checkout


def _require_open(checkout: CheckoutSession, now: datetime) -> None:
    if checkout.status is not CheckoutSessionStatus.OPEN:
        raise errors.CheckoutSessionNotOpen(f"checkout session is {checkout.status.value}")
    if now >= checkout.expires_at:
        raise errors.CheckoutSessionNotOpen("checkout session has expired; create a new one")


async def _test_clock_time(session: AsyncSession, test_clock_id: str) -> Clock:
    """The time of the checkout's test clock, which must be ready (not advancing, not deleted)."""
    test_clock = await session.get_one(TestClock, test_clock_id, with_for_update=True)
    if test_clock.deleted_at is not None or test_clock.status is not TestClockStatus.READY:
        raise test_clock_errors.TestClockNotReady(
            "the checkout's test clock is deleted or advancing; complete it when the clock is ready"
        )
    return FrozenClock(test_clock.frozen_time)


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
    await _lock_subscription_to_update(
        session, workspace_id=workspace_id, mode=mode, checkout_id=checkout_id
    )
    checkout = await _locked(session, workspace_id=workspace_id, mode=mode, checkout_id=checkout_id)
    if checkout.test_clock_id is not None:
        clock = await _test_clock_time(session, checkout.test_clock_id)
    now = clock.now()
    _require_open(checkout, now)
    terms = prepared_terms(checkout)
    network = registry.get(terms.network)
    token = _token(network, terms.token_symbol)
    submitted: Mapping[str, Any] | bytes = (
        encode_permission_context([delegation_of(terms, signature)])
        if signature is not None
        else dict(grant or {})
    )
    try:
        validated = validate_periodic_grant(
            submitted,
            chain_id=terms.chain_id,
            framework=network.framework,
            redeemer=terms.delegate,
            token=terms.token_address,
            period_amount=terms.period_amount,
            period_duration=terms.period_seconds,
            payee=terms.payee,
            not_after_expiry=to_unix(terms.permission_expires_at),
            now=to_unix(now),
            start_date=to_unix(terms.start_at),
            delegator=terms.customer_address,
            require_signature_match=signature is not None,
        )
    except DelegationError as exc:
        what = "signature" if signature is not None else "grant"
        raise errors.PermissionInvalid(
            f"the {what} does not grant this checkout's permission ({exc.code}): {exc}",
            param=what,
        ) from exc
    source = PermissionSource.EIP712 if signature is not None else PermissionSource.ERC7715
    if checkout.purpose is CheckoutSessionPurpose.SUBSCRIPTION_UPDATE:
        return await _complete_update(
            session,
            checkout=checkout,
            terms=terms,
            token=token,
            validated=validated,
            source=source,
            now=now,
        )
    # The schedule is anchored at completion, not at session creation: any anchor after the
    # permission's start works, because due dates are at least one on-chain window apart.
    anchor = now.replace(microsecond=0)
    checkout.billing_anchor = anchor
    price = await session.get_one(Price, checkout.price_id)
    customer = await customers.get_or_create_by_address(
        session, workspace_id=workspace_id, mode=mode, address=terms.customer_address
    )
    permission = await permissions.store(
        session,
        customer=customer,
        network=network.key,
        token=token,
        validated=validated,
        source=source,
    )
    subscription = await subscriptions.create(
        session,
        customer=customer,
        price=price,
        permission=permission,
        quantity=checkout.quantity,
        anchor=anchor,
        test_clock_id=checkout.test_clock_id,
    )
    if checkout.coupon_id is not None:
        # Counted atomically: a coupon whose max_redemptions was reached meanwhile is refused.
        coupon = await coupons.redeem(
            session, coupon_id=checkout.coupon_id, currency=price.currency, now=now
        )
        await coupons.attach(session, subscription=subscription, coupon=coupon, at=anchor)
    # Bills the first period, or nothing while a trial runs (its end bills the first period).
    payment = await billing.start(
        session, subscription=subscription, price=price, permission=permission
    )
    checkout.status = CheckoutSessionStatus.COMPLETE
    checkout.subscription_id = subscription.id
    return Completed(checkout=checkout, terms=terms, subscription=subscription, payment=payment)


async def _lock_subscription_to_update(
    session: AsyncSession, *, workspace_id: str, mode: Mode, checkout_id: str
) -> None:
    """For a ``subscription_update`` session, lock its subscription before the session itself:
    subscription actions lock the subscription first, then its pending session."""
    subscription_id = await session.scalar(
        select(CheckoutSession.subscription_id).where(
            CheckoutSession.id == checkout_id,
            CheckoutSession.workspace_id == workspace_id,
            CheckoutSession.mode == mode,
            CheckoutSession.purpose == CheckoutSessionPurpose.SUBSCRIPTION_UPDATE,
        )
    )
    if subscription_id is not None:
        await session.get_one(Subscription, subscription_id, with_for_update=True)


async def _complete_update(
    session: AsyncSession,
    *,
    checkout: CheckoutSession,
    terms: Terms,
    token: Token,
    validated: ValidatedPermission,
    source: PermissionSource,
    now: datetime,
) -> Completed:
    """The customer granted the new permission a pending price change waits for: store it and
    apply the change under it (`cyphera.subscription.changes.apply_pending_update`)."""
    if checkout.subscription_id is None:
        raise errors.CheckoutSessionNotOpen("checkout session has no subscription to update")
    subscription = await session.get_one(Subscription, checkout.subscription_id)
    customer = await session.get_one(Customer, subscription.customer_id)
    permission = await permissions.store(
        session,
        customer=customer,
        network=terms.network,
        token=token,
        validated=validated,
        source=source,
    )
    payment = await changes.apply_pending_update(
        session,
        subscription=subscription,
        checkout_id=checkout.id,
        permission=permission,
        now=now,
    )
    checkout.status = CheckoutSessionStatus.COMPLETE
    return Completed(checkout=checkout, terms=terms, subscription=subscription, payment=payment)
