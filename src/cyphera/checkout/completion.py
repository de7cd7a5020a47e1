"""Preparing and completing a checkout session, and the first charge.

`prepare_session` fixes the terms for the customer's wallet, network and token
(`cyphera.checkout.terms`). `complete_session` accepts nothing but a signature over exactly the
stored delegation (or an ERC-7715 grant of it): it rebuilds the delegation from the stored terms,
validates the signed context with the same allow-list used for ERC-7715 grants (manager,
delegate, enforcers, token, amount, window, payee, expiry) and that the paying account signed it
(its key, or its code through ERC-1271), then records customer, permission, subscription, the first invoice and its payment —
with the collection job — in one transaction. A ``subscription_update`` session instead applies
the subscription's pending change under the new permission
(`cyphera.subscription.changes.apply_pending_update`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.scope import Scope
from cyphera.auth.signatures import SignatureChecker
from cyphera.chain.models import Token
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import errors, repository
from cyphera.checkout.terms import (
    Terms,
    delegation_of,
    determined_choice,
    fix_terms,
    payout_addresses,
    prepared_terms,
    terms_of,
    token_of,
)
from cyphera.coupon import service as coupons
from cyphera.customer import service as customers
from cyphera.delegation import (
    DelegationError,
    ValidatedPermission,
    encode_permission_context,
    validate_periodic_grant,
)
from cyphera.exceptions import Unavailable
from cyphera.kit.clock import Clock, FrozenClock, to_unix
from cyphera.models import CheckoutSession, Customer, Payment, Price, Subscription, TestClock
from cyphera.models.checkout_session import CheckoutSessionPurpose, CheckoutSessionStatus
from cyphera.models.mixins import Mode
from cyphera.models.permission import PermissionSource
from cyphera.models.test_clock import TestClockStatus
from cyphera.payment.gateway import ChargeGateway
from cyphera.permission import service as permissions
from cyphera.permission.proof import is_signed_by_its_accounts
from cyphera.subscription import billing, changes
from cyphera.subscription import service as subscriptions
from cyphera.testclock import chain_time
from cyphera.testclock import clock as test_clocks
from cyphera.testclock import errors as test_clock_errors

INLINE_CHARGE_WAIT_SECONDS = 20


@dataclass(frozen=True, slots=True)
class Completed:
    checkout: CheckoutSession
    terms: Terms
    subscription: Subscription
    payment: Payment | None


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
    checkout = await repository.get_session(
        session, workspace_id=workspace_id, mode=mode, checkout_id=checkout_id, for_update=True
    )
    if checkout.test_clock_id is not None:
        clock = await _test_clock_time(session, checkout.test_clock_id)
    now = clock.now().replace(microsecond=0)
    _require_open(checkout, now)
    if checkout.purpose is not CheckoutSessionPurpose.SUBSCRIPTION:
        # Its terms were fixed when it was made: "preparing" it with those same choices (the
        # hosted page always prepares after connecting) answers it as it is.
        if (
            customer_address in (None, checkout.customer_address)
            and network_key in (None, checkout.network)
            and token_symbol in (None, checkout.token_symbol)
        ):
            return checkout
        raise errors.CheckoutTermsFixed(
            "this session asks for a permission on the subscription's own wallet, network and "
            f"token ({checkout.customer_address}, {checkout.network}, {checkout.token_symbol}); "
            "complete it as it is"
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
    choice = determined_choice(
        checkout, registry, network_key=network_key, token_symbol=token_symbol
    )
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
    payee = (await payout_addresses(session, Scope(workspace_id, mode))).get(network.key)
    if payee is None:
        raise errors.PayoutAddressMissing(
            f"the merchant has no payout address on {network.name} any more", param="network"
        )
    await fix_terms(
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


async def complete_session(
    session: AsyncSession,
    *,
    workspace_id: str,
    mode: Mode,
    checkout_id: str,
    signature: bytes | None = None,
    grant: Mapping[str, Any] | None = None,
    registry: NetworkRegistry,
    checker: SignatureChecker,
    clock: Clock,
) -> Completed:
    """Complete `checkout_id` with either the customer's EIP-712 `signature` over the stored
    delegation, or an ERC-7715 `grant` (the wallet's `wallet_requestExecutionPermissions` answer).

    Both are held to the same allow-list and the session's stored terms, and both must be proven
    signed by the paying account before anything is created (`cyphera.permission.proof`): its key
    (ECDSA: an EOA or a 7702-upgraded EOA) or its code (ERC-1271, asked through `checker`: a
    smart account). A forged signature never completes a session, trial or not.
    """
    if (signature is None) == (grant is None):
        raise errors.PermissionInvalid("send exactly one of `signature` or `grant`")
    await _lock_subscription_to_update(
        session, workspace_id=workspace_id, mode=mode, checkout_id=checkout_id
    )
    checkout = await repository.get_session(
        session, workspace_id=workspace_id, mode=mode, checkout_id=checkout_id, for_update=True
    )
    if checkout.test_clock_id is not None:
        clock = await _test_clock_time(session, checkout.test_clock_id)
    now = clock.now()
    _require_open(checkout, now)
    terms = prepared_terms(checkout)
    network = registry.get(terms.network)
    token = token_of(network, terms.token_symbol)
    what = "signature" if signature is not None else "grant"
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
        )
    except DelegationError as exc:
        raise errors.PermissionInvalid(
            f"the {what} does not grant this checkout's permission ({exc.code}): {exc}",
            param=what,
        ) from exc
    if not await is_signed_by_its_accounts(validated, checker=checker):
        raise errors.PermissionInvalid(
            f"the {what} is not signed by {terms.customer_address}: neither its key nor its "
            "account (ERC-1271) accepts the signature",
            param=what,
        )
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
    if checkout.customer_email is not None:
        await customers.remember_email(
            session, customer=customer, email=checkout.customer_email, clock=clock
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


async def collect_first_charge(
    sessionmaker: async_sessionmaker[AsyncSession],
    completed: Completed,
    *,
    registry: NetworkRegistry,
    gateway: ChargeGateway,
    clock: Clock,
) -> None:
    """After `complete_session` committed: collect its first charge inline, for a fast answer.

    The collection job committed with it is the safety net if this process dies or the signer is
    briefly unreachable (`Unavailable` is swallowed: the subscription stays incomplete meanwhile).
    Every edge that completes a session (the REST API, the hosted page) calls this.
    """
    if completed.payment is None:
        return
    # A test clock's subscription is charged at the clock's time (the local chain's too).
    collect_clock = await test_clocks.clock_for_payment(
        sessionmaker, completed.payment.id, default=clock
    )
    if completed.subscription.test_clock_id is not None:
        with contextlib.suppress(chain_time.ChainTimeError):
            await chain_time.move_to(registry.get(completed.terms.network), collect_clock.now())
    with contextlib.suppress(Unavailable):
        await billing.collect(
            sessionmaker,
            payment_id=completed.payment.id,
            gateway=gateway,
            clock=collect_clock,
            wait_seconds=INLINE_CHARGE_WAIT_SECONDS,
        )
