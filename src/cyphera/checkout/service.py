"""Checkout sessions: creating one for a price and the networks and tokens the merchant accepts,
and reading one back.

`create_session` checks the price, the coupon and what the session offers (`_accepted`), and —
when the customer's wallet is known and network and token are determined — fixes the terms at
once (`cyphera.checkout.terms`). Otherwise `cyphera.checkout.completion.prepare_session` fixes
them later; completing the session is there too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope
from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import errors, repository
from cyphera.checkout.terms import (
    determined_choice,
    fix_terms,
    network_for_mode,
    payout_addresses,
)
from cyphera.coupon import service as coupons
from cyphera.kit.clock import Clock, FrozenClock
from cyphera.kit.hosted import CHECKOUT_CONTEXT, token_matches
from cyphera.kit.ids import new_id
from cyphera.kit.periods import Interval
from cyphera.models import (
    CheckoutSession,
    Coupon,
    Discount,
    Invoice,
    Payment,
    Price,
    Product,
    Subscription,
    TestClock,
    Workspace,
)
from cyphera.models.checkout_session import CheckoutSessionPurpose, CheckoutSessionStatus
from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus
from cyphera.models.price import PriceType
from cyphera.models.subscription import SubscriptionStatus
from cyphera.payment.gateway import ChargeGateway
from cyphera.subscription.invoice_lines import coupon_label
from cyphera.testclock import clock as test_clocks
from cyphera.testclock import errors as test_clock_errors

SESSION_LIFETIME = timedelta(hours=24)


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
            network_for_mode(registry, key, mode, param="networks") for key in _unique(networks)
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


async def usable_price(session: AsyncSession, scope: Scope, price_id: str) -> Price:
    """The price `price_id` of `scope` if a checkout can sell it: active, recurring, above 0.

    Unknown (or another tenant's) is `CheckoutSessionNotFound` on ``price``; otherwise
    `PriceNotUsable`.
    """
    price = (
        await session.execute(
            select(Price).where(
                Price.id == price_id,
                Price.workspace_id == scope.workspace_id,
                Price.mode == scope.mode,
            )
        )
    ).scalar_one_or_none()
    if price is None:
        raise errors.CheckoutSessionNotFound(f"no such price: {price_id}", param="price")
    if not price.active or price.type is not PriceType.RECURRING:
        raise errors.PriceNotUsable("checkout needs an active recurring price", param="price")
    if price.unit_amount == 0:
        # A permission to move 0 per period is no permission: nothing to grant or collect.
        raise errors.PriceNotUsable(
            "checkout needs a price above 0: a free price has nothing to collect on-chain",
            param="price",
        )
    return price


@dataclass(frozen=True, slots=True)
class Offer:
    """What a session offers (`_accepted`), and the payout address of each network of `scope`."""

    networks: list[Network]
    tokens: list[str]
    payouts: Mapping[str, str]


async def offer(
    session: AsyncSession,
    scope: Scope,
    registry: NetworkRegistry,
    *,
    networks: Sequence[str] | None,
    tokens: Sequence[str] | None,
) -> Offer:
    """The networks and tokens a session of `scope` would offer for `networks` × `tokens` (None:
    the defaults), each checked: `NetworkUnsupported`, `TokenUnsupported`, `PayoutAddressMissing`."""
    payouts = await payout_addresses(session, scope)
    chosen, symbols = _accepted(registry, scope.mode, payouts, networks=networks, tokens=tokens)
    return Offer(networks=chosen, tokens=symbols, payouts=payouts)


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
    customer_email: str | None = None,
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
    `customer_email` is given to the customer on completion, unless they already have one.
    When the wallet is known and network and token are determined, the session is prepared at
    once; otherwise `prepare_session` fixes the terms later. Its hosted page opens with the
    client secret `cyphera.kit.hosted.checkout_client_secret` derives from its id.
    """
    scope = Scope(workspace_id, mode)
    clock = await _session_clock(session, scope, test_clock_id, clock)
    price = await usable_price(session, scope, price_id)
    if coupon_id is not None:
        await coupons.redeemable(
            session, scope=scope, coupon_id=coupon_id, currency=price.currency, now=clock.now()
        )
    if network_key is not None:
        network = network_for_mode(registry, network_key, mode)
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
    accepted = await offer(session, scope, registry, networks=networks, tokens=tokens)
    payouts = accepted.payouts
    accepted_networks, accepted_tokens = accepted.networks, accepted.tokens
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
        customer_email=customer_email,
        expires_at=now + SESSION_LIFETIME,
        success_url=success_url,
        cancel_url=cancel_url,
        test_clock_id=test_clock_id,
        coupon_id=coupon_id,
        metadata_={},
    )
    session.add(checkout)
    choice = determined_choice(
        checkout, registry, network_key=network_key, token_symbol=token_symbol
    )
    if customer_address is not None and choice is not None:
        await fix_terms(
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


async def find_by_client_secret(
    session: AsyncSession, *, checkout_id: str, client_secret: str, secret: bytes
) -> CheckoutSession:
    """The session `client_secret` opens, whatever its workspace: the secret is the proof of
    access (the hosted page has no API key). A wrong secret and an unknown id are the same
    `CheckoutSessionNotFound`; the secret is checked, in constant time, before any lookup."""
    if not token_matches(CHECKOUT_CONTEXT, checkout_id, client_secret, secret=secret):
        raise errors.CheckoutSessionNotFound(f"no such checkout session: {checkout_id}")
    checkout = await session.get(CheckoutSession, checkout_id)
    if checkout is None:
        raise errors.CheckoutSessionNotFound(f"no such checkout session: {checkout_id}")
    return checkout


async def get_session(
    session: AsyncSession, *, workspace_id: str, mode: Mode, checkout_id: str
) -> CheckoutSession:
    """The workspace's session `checkout_id`, or `CheckoutSessionNotFound`."""
    return await repository.get_session(
        session, workspace_id=workspace_id, mode=mode, checkout_id=checkout_id
    )


@dataclass(frozen=True, slots=True)
class Overview:
    """What a customer is buying, for the hosted page: who sells what, at which price."""

    merchant: str
    product: str
    unit_amount_cents: int
    currency: str
    interval: Interval | None
    interval_count: int
    trial_period_days: int | None


async def overview(session: AsyncSession, checkout: CheckoutSession) -> Overview:
    price = await session.get_one(Price, checkout.price_id)
    product = await session.get_one(Product, price.product_id)
    workspace = await session.get_one(Workspace, checkout.workspace_id)
    return Overview(
        merchant=workspace.name,
        product=product.name,
        unit_amount_cents=price.unit_amount,
        currency=price.currency,
        interval=price.recurring_interval,
        interval_count=price.recurring_interval_count or 1,
        trial_period_days=price.trial_period_days,
    )


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a completed session's subscription is: its status, and its latest payment's."""

    subscription_status: SubscriptionStatus | None
    payment_status: PaymentStatus | None
    tx_hash: str | None
    failure_code: str | None


async def progress(session: AsyncSession, checkout: CheckoutSession) -> Progress:
    if checkout.subscription_id is None:
        return Progress(None, None, None, None)
    subscription = await session.get_one(Subscription, checkout.subscription_id)
    payments = (
        select(Payment)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.subscription_id == subscription.id)
    )
    if checkout.purpose is CheckoutSessionPurpose.SUBSCRIPTION_UPDATE:
        # Only what the change charged under the new permission, never an earlier period's.
        if checkout.status is not CheckoutSessionStatus.COMPLETE:
            return Progress(subscription.status, None, None, None)
        payments = payments.where(Payment.permission_id == subscription.permission_id)
    payment = await session.scalar(
        payments.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(1)
    )
    return Progress(
        subscription_status=subscription.status,
        payment_status=None if payment is None else payment.status,
        tx_hash=None if payment is None else payment.tx_hash,
        failure_code=None if payment is None else payment.failure_code,
    )


@dataclass(frozen=True, slots=True)
class FirstCharge:
    """The session's first charge, as completing it now would bill it (display only).

    `is_due_now` is false while a trial runs: the first charge is at the trial's end, `at`.
    `amount_cents` is after the session's coupon, `discount` that coupon's label.
    """

    amount_cents: int
    is_due_now: bool
    at: datetime
    trial_days: int | None
    discount: str | None
    for_change: bool = False
    """A price change's session (`cyphera.checkout.update`): what approving it charges now."""


async def first_charge(
    session: AsyncSession, checkout: CheckoutSession, clock: Clock
) -> FirstCharge:
    """What the customer pays first and when, by the rules billing applies at completion
    (`cyphera.subscription.lifecycle`'s trial, `coupons.application`'s discount)."""
    if checkout.test_clock_id is not None:
        test_clock = await session.get_one(TestClock, checkout.test_clock_id)
        clock = FrozenClock(test_clock.frozen_time)
    now = clock.now().replace(microsecond=0)
    price = await session.get_one(Price, checkout.price_id)
    subtotal = price.unit_amount * checkout.quantity
    trial_days = price.trial_period_days or None
    at = now + timedelta(days=trial_days) if trial_days else now
    coupon = (
        None if checkout.coupon_id is None else await session.get_one(Coupon, checkout.coupon_id)
    )
    off = 0
    if coupon is not None:
        # The discount completion would attach now, applied to the first paid period's invoice.
        discount = Discount(start=now, end=coupons.discount_end(coupon, now))
        applied = coupons.application(discount, coupon, subtotal=subtotal, period_start=at)
        off = applied.amount if applied.applies else 0
    return FirstCharge(
        amount_cents=subtotal - off,
        is_due_now=trial_days is None,
        at=at,
        trial_days=trial_days,
        discount=None if coupon is None else coupon_label(coupon),
    )
