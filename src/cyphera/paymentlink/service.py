"""Payment links: made for a price as a checkout session would be, and opened by anyone.

A link checks its price, networks and tokens with the checkout's own rules
(`cyphera.checkout.service.usable_price` and `offer`) when it is made, and each visit opens a
new checkout session through `cyphera.checkout.service.create_session`, which checks them all
again: a price archived or a payout address removed since then stops the link at the visit,
with the checkout's error. The link stores no amount; the session computes it from the price.

The public page finds a link by id alone: a link is public by design (Stripe's
``buy.stripe.com/…``), and its id is 143 random bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.resources import get_scoped, list_scoped
from cyphera.auth.scope import Scope
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import service as checkout
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.metadata import MetadataTooLarge, merge_metadata
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models import CheckoutSession, PaymentLink
from cyphera.payment.gateway import ChargeGateway
from cyphera.paymentlink import errors
from cyphera.paymentlink.schemas import PaymentLinkCreate, PaymentLinkUpdate

ID_PREFIX = "plink"
PAGE_PATH = "/l"


def link_url(base_url: str, link_id: str) -> str:
    """The link's public page: ``{base_url}/l/{id}``."""
    return f"{base_url.rstrip('/')}{PAGE_PATH}/{link_id}"


async def create_link(
    session: AsyncSession,
    *,
    scope: Scope,
    data: PaymentLinkCreate,
    registry: NetworkRegistry,
    clock: Clock,
) -> PaymentLink:
    """A link for `data.price`, refused as a checkout session for it would be."""
    price = await checkout.usable_price(session, scope, data.price)
    offered = await checkout.offer(
        session, scope, registry, networks=data.networks, tokens=data.tokens
    )
    now = clock.now()
    link = PaymentLink(
        id=new_id(ID_PREFIX),
        created_at=now,
        updated_at=now,
        price_id=price.id,
        quantity=data.quantity,
        # As asked, normalised; left null, each visit offers what the mode has then.
        accepted_networks=(
            None if data.networks is None else [network.key for network in offered.networks]
        ),
        accepted_tokens=None if data.tokens is None else offered.tokens,
        success_url=data.success_url,
        cancel_url=data.cancel_url,
        active=True,
        metadata_=_metadata({}, data.metadata),
        **scope.tenant_columns(),
    )
    session.add(link)
    await session.flush()
    return link


async def get_link(session: AsyncSession, *, scope: Scope, link_id: str) -> PaymentLink:
    """The link `link_id` of `scope`; another tenant's is ``404 resource_missing`` as a missing one."""
    return await get_scoped(session, PaymentLink, link_id, scope)


async def list_links(
    session: AsyncSession, *, scope: Scope, page: PageRequest, active: bool | None = None
) -> Page[PaymentLink]:
    filters = [] if active is None else [PaymentLink.active.is_(active)]
    return await list_scoped(session, PaymentLink, scope, page, *filters)


async def update_link(
    session: AsyncSession, *, scope: Scope, link_id: str, data: PaymentLinkUpdate, clock: Clock
) -> PaymentLink:
    link = await get_link(session, scope=scope, link_id=link_id)
    if data.active is not None:
        link.active = data.active
    if data.success_url is not None:
        link.success_url = data.success_url
    if data.cancel_url is not None:
        link.cancel_url = data.cancel_url
    link.metadata_ = _metadata(link.metadata_, data.metadata)
    link.updated_at = clock.now()
    await session.flush()
    return link


async def find_link(session: AsyncSession, link_id: str) -> PaymentLink:
    """The link `link_id`, whatever its workspace (the public page's lookup)."""
    link = await session.get(PaymentLink, link_id) if has_prefix(link_id, ID_PREFIX) else None
    if link is None:
        raise errors.PaymentLinkNotFound(f"no such payment link: {link_id!r}")
    return link


async def open_checkout(
    session: AsyncSession,
    *,
    link_id: str,
    registry: NetworkRegistry,
    gateway: ChargeGateway,
    clock: Clock,
    permission_lifetime: timedelta,
) -> CheckoutSession:
    """A new checkout session for the link's price, for one visit of its page.

    `PaymentLinkNotFound` for an unknown link, `PaymentLinkInactive` for a deactivated one, and
    the checkout's own errors when the link can no longer sell (its price archived, …).
    """
    link = await find_link(session, link_id)
    if not link.active:
        raise errors.PaymentLinkInactive(f"payment link {link_id} is no longer active")
    return await checkout.create_session(
        session,
        workspace_id=link.workspace_id,
        mode=link.mode,
        price_id=link.price_id,
        quantity=link.quantity,
        networks=link.accepted_networks,
        tokens=link.accepted_tokens,
        success_url=link.success_url,
        cancel_url=link.cancel_url,
        registry=registry,
        gateway=gateway,
        clock=clock,
        permission_lifetime=permission_lifetime,
    )


def _metadata(current: Mapping[str, Any], update: Mapping[str, str] | None) -> dict[str, str]:
    if update is None:
        return {str(key): str(value) for key, value in current.items()}
    try:
        return merge_metadata(current, update)
    except MetadataTooLarge as exc:
        raise errors.PaymentLinkParameterInvalid(str(exc), param="metadata") from None
