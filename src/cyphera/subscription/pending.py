"""Changes of price or quantity that need a new on-chain permission (Stripe's ``pending_update``).

When the new amount per period (price × quantity) is above what the customer's permission
allows per window, or the new price bills on another interval (the permission's window length is
fixed on-chain), `cyphera.subscription.changes.update` changes nothing yet: `request` opens a
checkout session of purpose ``subscription_update`` — for the same account, network and token,
with terms built by `cyphera.permission.request` exactly as a new checkout's, for the new price ×
the new quantity — and stores the wanted price, quantity and proration behaviour on the
subscription as its ``pending_update``.

For a larger cap on the same interval, the new permission keeps the window grid of the one it
replaces (same ``start_at`` and window length), so the subscription's due dates land in the same
on-chain windows as before and the schedule's guarantee (`cyphera.kit.periods`) carries over
unchanged. For another interval (``resets_billing_anchor``) the window length changes, so the
grid starts afresh, `START_SKEW` before the request, as a new checkout's: the schedule is
re-anchored at the completion (or stays at a trial's end), which is after that start, and any
anchor after the permission's start works because the due dates are at least one window apart.

A second request replaces the first (its session is expired); a cancel, the end of the
subscription, or the session's lapse (`cyphera.subscription.scheduler.expire_pending_updates`) drops it. Completing the
session (`cyphera.subscription.changes.apply_pending_update`, called by checkout) applies the
change through the ordinary price-change path under the new permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.chain.networks import NetworkRegistry
from cyphera.exceptions import Unavailable
from cyphera.kit.hosted import checkout_page_url
from cyphera.kit.ids import new_id
from cyphera.models import CheckoutSession, PayoutAddress, Permission, Price, Subscription
from cyphera.models.checkout_session import CheckoutSessionPurpose, CheckoutSessionStatus
from cyphera.payment.gateway import ChargeGateway
from cyphera.permission import request as permission_requests
from cyphera.subscription import lifecycle
from cyphera.subscription.errors import PayoutAddressMissing, PermissionInsufficient
from cyphera.subscription.proration import ProrationBehavior

SESSION_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PermissionRequester:
    """What asking the customer for a new permission needs from the entry point."""

    registry: NetworkRegistry | None
    gateway: ChargeGateway | None
    permission_lifetime: timedelta
    base_url: str  # the API's public URL: the hosted page is {base_url}/pay/{session id}?key=…
    hosted_secret: bytes  # what the page's key is derived under (`cyphera.kit.hosted`)


async def request(
    session: AsyncSession,
    *,
    subscription: Subscription,
    permission: Permission,
    new_price: Price,
    quantity: int,
    behavior: ProrationBehavior,
    requester: PermissionRequester,
    now: datetime,
    resets_billing_anchor: bool = False,
) -> dict[str, object]:
    """Open the checkout session for a new permission and make it the subscription's
    ``pending_update`` (replacing any earlier one). Returns the previous attributes changed.

    `resets_billing_anchor` (a change of interval): the new permission's windows start at `now`
    less the skew instead of on the grid of the permission it replaces."""
    now = now.replace(microsecond=0)
    if requester.registry is None or requester.gateway is None:
        raise Unavailable("the signer is not configured on this server; try again later")
    network = (
        requester.registry.get(permission.network)
        if permission.network in requester.registry
        else None
    )
    token = None if network is None else network.tokens.get(permission.token_symbol)
    if (
        network is None
        or token is None
        or token.address.lower() != permission.token_address.lower()
    ):
        raise PermissionInsufficient(
            f"{permission.token_symbol} on {permission.network} is no longer accepted; create a "
            f"new checkout session for price {new_price.id}.",
            param="price",
        )
    payee = await session.scalar(
        select(PayoutAddress.address).where(
            PayoutAddress.workspace_id == subscription.workspace_id,
            PayoutAddress.mode == subscription.mode,
            PayoutAddress.network == network.key,
        )
    )
    if payee is None:
        raise PayoutAddressMissing(
            f"Set a payout address for {network.name} before asking the customer for a new "
            "permission there.",
            param="price",
        )
    terms = permission_requests.periodic_terms(
        price=new_price,
        quantity=quantity,
        network=network,
        token=token,
        customer_address=permission.account,
        payee=payee,
        redeemer=await requester.gateway.redeemer(network.chain_id),
        now=now,
        permission_lifetime=requester.permission_lifetime,
        start_at=None if resets_billing_anchor else permission.start_at,
    )
    previous: dict[str, object] = {
        "pending_update": await lifecycle.drop_pending_update(session, subscription)
    }
    checkout = CheckoutSession(
        id=new_id("cs"),
        created_at=now,
        updated_at=now,
        workspace_id=subscription.workspace_id,
        mode=subscription.mode,
        status=CheckoutSessionStatus.OPEN,
        purpose=CheckoutSessionPurpose.SUBSCRIPTION_UPDATE,
        subscription_id=subscription.id,
        price_id=new_price.id,
        quantity=quantity,
        billing_anchor=subscription.billing_anchor,
        expires_at=now + SESSION_LIFETIME,
        test_clock_id=subscription.test_clock_id,
        metadata_={},
        # The subscription's own wallet, network and token: nothing for the customer to choose.
        accepted_networks=[network.key],
        accepted_tokens=[token.symbol],
        customer_address_fixed=True,
        **terms.checkout_columns(),
    )
    session.add(checkout)
    await session.flush()
    subscription.pending_price_id = new_price.id
    subscription.pending_quantity = quantity
    subscription.pending_proration_behavior = behavior.value
    subscription.pending_checkout_session_id = checkout.id
    subscription.pending_checkout_url = checkout_page_url(
        requester.base_url, checkout.id, secret=requester.hosted_secret
    )
    subscription.pending_expires_at = checkout.expires_at
    return previous
