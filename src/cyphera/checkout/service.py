"""Checkout: the server decides every term of the permission; the customer only signs it.

`create_session` fixes amount, window, start, expiry, payee, delegate and salt, and stores the
unsigned delegation. `complete_session` accepts nothing but a signature over exactly that
delegation: it rebuilds the delegation from the stored terms, validates the signed context with
the same allow-list used for ERC-7715 grants (manager, delegate, enforcers, token, amount, window,
payee, expiry) and that the signature recovers to the customer, then records customer, permission,
subscription, the first invoice and its payment — with the collection job — in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
from cyphera.subscription import billing
from cyphera.subscription import service as subscriptions
from cyphera.testclock import clock as test_clocks
from cyphera.testclock import errors as test_clock_errors

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
    test_clock_id: str | None = None,
    coupon_id: str | None = None,
) -> CheckoutSession:
    if test_clock_id is not None:
        # Test mode only: every term is computed at the clock's time.
        if mode is not Mode.TEST:
            raise test_clock_errors.TestClockLiveMode(
                "test clocks exist in test mode only", param="test_clock"
            )
        test_clock = await test_clocks.get_test_clock(
            session, Scope(workspace_id, mode), test_clock_id, param="test_clock"
        )
        clock = FrozenClock(test_clock.frozen_time)
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
            session,
            scope=Scope(workspace_id, mode),
            coupon_id=coupon_id,
            currency=price.currency,
            now=clock.now(),
        )
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
    now = clock.now().replace(microsecond=0)
    terms = permission_requests.periodic_terms(
        price=price,
        quantity=quantity,
        network=network,
        token=token,
        customer_address=customer_address,
        payee=payout.address,
        redeemer=await gateway.redeemer(network.chain_id),
        now=now,
        permission_lifetime=permission_lifetime,
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
        billing_anchor=now,
        **terms.checkout_columns(),
        expires_at=now + SESSION_LIFETIME,
        success_url=success_url,
        cancel_url=cancel_url,
        test_clock_id=test_clock_id,
        coupon_id=coupon_id,
        metadata_={},
    )
    session.add(checkout)
    await session.flush()
    return checkout


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
    if checkout.test_clock_id is not None:
        clock = await _test_clock_time(session, checkout.test_clock_id)
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
    source = PermissionSource.EIP712 if signature is not None else PermissionSource.ERC7715
    if checkout.purpose is CheckoutSessionPurpose.SUBSCRIPTION_UPDATE:
        return await _complete_update(
            session, checkout=checkout, token=token, validated=validated, source=source, now=now
        )
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
    return Completed(checkout=checkout, subscription=subscription, payment=payment)


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
    token: Token,
    validated: ValidatedPermission,
    source: PermissionSource,
    now: datetime,
) -> Completed:
    """The customer granted the larger permission a pending price change waits for: store it and
    apply the change under it (`cyphera.subscription.service.apply_pending_update`)."""
    if checkout.subscription_id is None:
        raise errors.CheckoutSessionNotOpen("checkout session has no subscription to update")
    subscription = await session.get_one(Subscription, checkout.subscription_id)
    customer = await session.get_one(Customer, subscription.customer_id)
    permission = await permissions.store(
        session,
        customer=customer,
        network=checkout.network,
        token=token,
        validated=validated,
        source=source,
    )
    payment = await subscriptions.apply_pending_update(
        session,
        subscription=subscription,
        checkout_id=checkout.id,
        permission=permission,
        now=now,
    )
    checkout.status = CheckoutSessionStatus.COMPLETE
    return Completed(checkout=checkout, subscription=subscription, payment=payment)
