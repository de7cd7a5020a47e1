"""Demo data for ``cyphera dev``: one workspace with a payout address, a product and a price.

Idempotent: the demo workspace is found by name on later runs, and its secret key (stored only as
a hash) is shown on the first run alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.account_repository import AccountRepository, MemberRepository
from cyphera.auth.scope import Scope
from cyphera.catalog.schemas import PriceCreate, ProductCreate, RecurringCreate
from cyphera.catalog.service import create_price, create_product
from cyphera.chain.devnet.anvil import dev_accounts
from cyphera.chain.local import LOCAL_NETWORK_KEY
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import service as checkout_sessions
from cyphera.config import DatabaseSettings
from cyphera.db.engine import create_engine, create_sessionmaker, transaction
from cyphera.dev.stack import merchant_payout_address
from cyphera.kit.clock import system_clock
from cyphera.kit.hosted import checkout_page_url, hosted_secret
from cyphera.models import PaymentLink, Price, Workspace
from cyphera.models.mixins import Mode
from cyphera.payment.gateway import ChargeGateway
from cyphera.paymentlink import service as payment_links
from cyphera.paymentlink.schemas import PaymentLinkCreate
from cyphera.workspace.service import create_workspace, set_payout_address
from cyphera.workspace.team import add_owner

DEMO_WORKSPACE = "Demo Store"
# How long the permission a demo checkout asks for stays valid (the platform's own default).
DEMO_PERMISSION_LIFETIME = timedelta(days=3 * 365)


@dataclass(frozen=True)
class Seeded:
    workspace_id: str
    secret_key: str | None


def demo_owner_address() -> str:
    """Who owns the demo workspace: anvil's first account (its key is public, dev only)."""
    return dev_accounts(1)[0].address


async def _ensure_demo_owner(session: AsyncSession, workspace_id: str) -> None:
    account = await AccountRepository(session).get_or_create_by_wallet(
        demo_owner_address(), at=system_clock.now()
    )
    membership = await MemberRepository(session).membership(
        account_id=account.id, workspace_id=workspace_id
    )
    if membership is None:
        await add_owner(
            session, workspace_id=workspace_id, address=demo_owner_address(), clock=system_clock
        )


async def seed_demo(database_url: str) -> Seeded:
    engine = create_engine(DatabaseSettings(url=SecretStr(database_url), pool_size=1))
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            existing = (
                await session.execute(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
            ).scalar_one_or_none()
            if existing is not None:
                await _ensure_demo_owner(session, existing.id)
                return Seeded(workspace_id=existing.id, secret_key=None)
            created = await create_workspace(session, name=DEMO_WORKSPACE)
            await _ensure_demo_owner(session, created.workspace.id)
            scope = Scope(workspace_id=created.workspace.id, mode=Mode.TEST)
            await set_payout_address(
                session,
                scope=scope,
                network=LOCAL_NETWORK_KEY,
                address=merchant_payout_address(),
                clock=system_clock,
            )
            product = await create_product(
                session,
                scope=scope,
                data=ProductCreate(
                    name="Pro plan",
                    description="Everything in Cyphera's demo store, billed monthly in USDC or USDT.",
                ),
                clock=system_clock,
            )
            await create_price(
                session,
                scope=scope,
                data=PriceCreate(
                    product=product.id,
                    unit_amount=1999,
                    currency="usd",
                    recurring=RecurringCreate(interval="month"),
                ),
                clock=system_clock,
            )
            return Seeded(workspace_id=created.workspace.id, secret_key=created.secret_key)
    finally:
        await engine.dispose()


async def open_demo_checkout(
    database_url: str,
    *,
    workspace_id: str,
    registry: NetworkRegistry,
    gateway: ChargeGateway,
    base_url: str,
) -> str | None:
    """A fresh checkout session for the demo price, opened by the same service the API uses;
    returns its hosted page's URL (None if the demo price is gone)."""
    async with _demo_price(database_url, workspace_id) as (session, price):
        if price is None:
            return None
        created = await checkout_sessions.create_session(
            session,
            workspace_id=workspace_id,
            mode=Mode.TEST,
            price_id=price.id,
            quantity=1,
            registry=registry,
            gateway=gateway,
            clock=system_clock,
            permission_lifetime=DEMO_PERMISSION_LIFETIME,
        )
        return checkout_page_url(base_url, created.id, secret=hosted_secret())


async def open_demo_link(
    database_url: str, *, workspace_id: str, registry: NetworkRegistry, base_url: str
) -> str | None:
    """The demo price's payment link, made by the same service the API uses on the first run and
    found again on later ones; returns its URL (None if the demo price is gone)."""
    async with _demo_price(database_url, workspace_id) as (session, price):
        if price is None:
            return None
        link = await session.scalar(
            select(PaymentLink)
            .where(
                PaymentLink.workspace_id == workspace_id,
                PaymentLink.mode == Mode.TEST,
                PaymentLink.price_id == price.id,
                PaymentLink.active.is_(True),
            )
            .order_by(PaymentLink.created_at)
            .limit(1)
        )
        if link is None:
            link = await payment_links.create_link(
                session,
                scope=Scope(workspace_id=workspace_id, mode=Mode.TEST),
                data=PaymentLinkCreate(price=price.id),
                registry=registry,
                clock=system_clock,
            )
        return payment_links.link_url(base_url, link.id)


@asynccontextmanager
async def _demo_price(
    database_url: str, workspace_id: str
) -> AsyncIterator[tuple[AsyncSession, Price | None]]:
    """A transaction on the dev database, and the demo workspace's first active price (the one
    `seed_demo` made, unless archived)."""
    engine = create_engine(DatabaseSettings(url=SecretStr(database_url), pool_size=1))
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            price = await session.scalar(
                select(Price)
                .where(Price.workspace_id == workspace_id, Price.active.is_(True))
                .order_by(Price.created_at)
                .limit(1)
            )
            yield session, price
    finally:
        await engine.dispose()
