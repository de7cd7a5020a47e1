"""A billing world for subscription tests: a workspace, prices, customers with permissions, and a
fake `ChargeGateway` (the seam to the signer; the real one is exercised in ``test_onchain.py``).

Subscriptions are made the way checkout makes them (`lifecycle.create` + `billing.start`), with
the permission row written directly: validating a signed delegation is checkout's business and is
tested there.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.chain_reader import RpcSignatureChecker
from cyphera.auth.scope import Scope
from cyphera.chain.networks import NetworkRegistry
from cyphera.checkout import completion
from cyphera.checkout import service as checkouts
from cyphera.checkout.terms import prepared_terms, signing_request
from cyphera.db.engine import transaction
from cyphera.kit.clock import FrozenClock
from cyphera.kit.ids import new_id
from cyphera.kit.money import Cents, cents_to_token_units
from cyphera.kit.periods import START_SKEW, Interval, window_seconds
from cyphera.models import (
    CheckoutSession,
    Customer,
    Event,
    Invoice,
    Payment,
    PayoutAddress,
    Permission,
    Price,
    Product,
    Subscription,
    Workspace,
)
from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus
from cyphera.models.permission import PermissionSource, PermissionStatus
from cyphera.models.price import PriceType
from cyphera.models.workspace import DunningFinalStatus
from cyphera.payment.gateway import ChargeOrder, ChargeOutcome, ChargeState
from cyphera.subscription import billing, lifecycle
from cyphera.workspace.service import create_workspace

M = TypeVar("M")
TOKEN_DECIMALS = 6
UNITS_PER_CENT = 10 ** (TOKEN_DECIMALS - 2)
ADDRESS = "0x" + "ab" * 20
PAYEE = "0x" + "cd" * 20
PERMISSION_LIFETIME = timedelta(days=365)


@dataclass
class FakeGateway:
    """Answers charges with `outcome` (confirmed by default) and remembers every key it saw, as
    the signer does: a known key returns the first outcome, a lookup of an unknown key is None.

    `hold`, when set, makes `charge` wait on it (after signalling `entered`): a charge in flight.
    """

    outcome: ChargeState = ChargeState.CONFIRMED
    failure_code: str | None = None
    charges: list[ChargeOrder] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    seen: dict[str, ChargeOutcome] = field(default_factory=dict)
    hold: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)

    async def charge(self, order: ChargeOrder, *, wait_seconds: int) -> ChargeOutcome:
        self.charges.append(order)
        if order.key in self.seen:
            return self.seen[order.key]
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        failed = self.outcome is ChargeState.FAILED
        outcome = ChargeOutcome(
            key=order.key,
            state=self.outcome,
            tx_hash="0x" + f"{len(self.seen) + 1:064x}",
            block_number=None if failed else 100 + len(self.seen),
            gas_used=None if failed else 90_000,
            failure_code=self.failure_code if failed else None,
            failure_message="declined" if failed else None,
        )
        self.seen[order.key] = outcome
        return outcome

    async def lookup(self, key: str) -> ChargeOutcome | None:
        self.lookups.append(key)
        return self.seen.get(key)

    async def redeemer(self, chain_id: int) -> str:
        return ADDRESS

    def fail_with(self, code: str) -> None:
        self.outcome, self.failure_code = ChargeState.FAILED, code

    def succeed(self) -> None:
        self.outcome, self.failure_code = ChargeState.CONFIRMED, None


@dataclass(frozen=True)
class Subscribed:
    subscription_id: str
    price_id: str
    permission_id: str
    invoice_id: str | None
    payment_id: str | None


@dataclass
class World:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: FrozenClock
    gateway: FakeGateway
    workspace_id: str

    @property
    def scope(self) -> Scope:
        return Scope(workspace_id=self.workspace_id, mode=Mode.TEST)

    async def price(
        self,
        unit_amount: int = 3000,
        *,
        interval: Interval = Interval.MONTH,
        interval_count: int = 1,
        trial_period_days: int | None = None,
        active: bool = True,
    ) -> str:
        tenant = {"workspace_id": self.workspace_id, "mode": Mode.TEST}
        async with transaction(self.sessionmaker) as session:
            product = Product(id=new_id("prod"), name="Plan", active=True, metadata_={}, **tenant)
            session.add(product)
            await session.flush()
            price = Price(
                id=new_id("price"),
                product_id=product.id,
                type=PriceType.RECURRING,
                unit_amount=unit_amount,
                currency="usd",
                recurring_interval=interval,
                recurring_interval_count=interval_count,
                trial_period_days=trial_period_days,
                active=active,
                metadata_={},
                **tenant,
            )
            session.add(price)
        return price.id

    async def subscribe(
        self,
        price_id: str,
        *,
        cap_cents: int | None = None,
        collect: bool = True,
    ) -> Subscribed:
        """Subscribe a new customer to `price_id` now, with a permission capped at `cap_cents`
        per on-chain window (default: the price), and collect the first invoice."""
        now = self.clock.now().replace(microsecond=0)
        tenant = {"workspace_id": self.workspace_id, "mode": Mode.TEST}
        async with transaction(self.sessionmaker) as session:
            price = await session.get_one(Price, price_id)
            interval, count = lifecycle.plan_of(price)
            customer = Customer(
                id=new_id("cus"), address="0x" + secrets.token_hex(20), metadata_={}, **tenant
            )
            session.add(customer)
            await session.flush()
            permission = Permission(
                id=new_id("perm"),
                customer_id=customer.id,
                network="local",
                chain_id=31337,
                source=PermissionSource.EIP712,
                status=PermissionStatus.ACTIVE,
                account=customer.address,
                delegate=ADDRESS,
                delegation_manager=ADDRESS,
                delegation_hash="0x" + secrets.token_hex(32),
                revocation_hash="0x" + secrets.token_hex(32),
                token_address=ADDRESS,
                token_symbol="USDC",
                token_decimals=TOKEN_DECIMALS,
                period_amount=cents_to_token_units(
                    Cents(cap_cents if cap_cents is not None else price.unit_amount),
                    token_decimals=TOKEN_DECIMALS,
                ),
                period_seconds=window_seconds(interval, count),
                start_at=now - START_SKEW,
                expires_at=now + timedelta(days=3 * 365),
                payee=PAYEE,
                context=b"\x01",
                **tenant,
            )
            session.add(permission)
            await session.flush()
            subscription = await lifecycle.create(
                session,
                customer=customer,
                price=price,
                permission=permission,
                quantity=1,
                anchor=now,
            )
            payment = await billing.start(
                session, subscription=subscription, price=price, permission=permission
            )
        if payment is not None and collect:
            await self.collect(payment.id)
        return Subscribed(
            subscription_id=subscription.id,
            price_id=price_id,
            permission_id=permission.id,
            invoice_id=payment.invoice_id if payment else None,
            payment_id=payment.id if payment else None,
        )

    async def collect(self, payment_id: str) -> PaymentStatus | None:
        return await billing.collect(
            self.sessionmaker, payment_id=payment_id, gateway=self.gateway, clock=self.clock
        )

    async def collect_pending(self) -> list[PaymentStatus | None]:
        """Run every collection that is waiting (what the worker would do)."""
        async with self.sessionmaker() as session:
            pending = (
                await session.scalars(
                    select(Payment.id)
                    .where(Payment.status.in_([PaymentStatus.PENDING, PaymentStatus.SUBMITTED]))
                    .order_by(Payment.created_at)
                )
            ).all()
        return [await self.collect(payment_id) for payment_id in pending]

    async def get(self, model: type[M], object_id: str) -> M:
        async with self.sessionmaker() as session:
            return await session.get_one(model, object_id)

    async def subscription(self, subscription_id: str) -> Subscription:
        return await self.get(Subscription, subscription_id)

    async def invoices(self, subscription_id: str) -> list[Invoice]:
        async with self.sessionmaker() as session:
            return list(
                (
                    await session.scalars(
                        select(Invoice)
                        .where(Invoice.subscription_id == subscription_id)
                        .order_by(Invoice.period_start, Invoice.number)
                    )
                ).all()
            )

    async def payments(self, invoice_id: str) -> list[Payment]:
        async with self.sessionmaker() as session:
            return list(
                (
                    await session.scalars(
                        select(Payment)
                        .where(Payment.invoice_id == invoice_id)
                        .order_by(Payment.created_at)
                    )
                ).all()
            )

    async def events(self, object_id: str) -> list[Event]:
        async with self.sessionmaker() as session:
            return list(
                (
                    await session.scalars(
                        select(Event).where(Event.object_id == object_id).order_by(Event.sequence)
                    )
                ).all()
            )

    async def event_types(self, object_id: str) -> list[str]:
        return [event.type for event in await self.events(object_id)]

    async def last_event(self, object_id: str, kind: str) -> dict[str, Any]:
        matching = [e for e in await self.events(object_id) if e.type == kind]
        assert matching, f"no {kind} event for {object_id}"
        return matching[-1].data

    async def queued_collections(self, payment_id: str) -> int:
        async with self.sessionmaker() as session:
            count = await session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'payment.collect' "
                    "AND status = 'todo' AND args->>'payment_id' = :payment_id"
                ),
                {"payment_id": payment_id},
            )
        return int(count or 0)

    async def state_of(self, subscription_id: str) -> tuple[object, ...]:
        """What a refused request must leave as it was: the subscription's billing fields and
        pending update, its events, and the number of rows a change could add."""
        s = await self.subscription(subscription_id)
        return (
            (s.status, s.price_id, s.quantity, s.permission_id, s.proration_balance),
            (s.billing_anchor, s.current_period_start, s.current_period_end, s.period_index),
            (s.pending_price_id, s.pending_quantity, s.pending_checkout_session_id),
            dict(s.metadata_),
            await self.event_types(subscription_id),
            [await self.count(model) for model in (Invoice, Payment, Permission, CheckoutSession)],
        )

    async def count(self, model: type[Any]) -> int:
        async with self.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def set_dunning_final_status(self, status: DunningFinalStatus) -> None:
        async with transaction(self.sessionmaker) as session:
            workspace = await session.get_one(Workspace, self.workspace_id)
            workspace.dunning_final_status = status

    async def revoke(self, permission_id: str) -> None:
        async with transaction(self.sessionmaker) as session:
            permission = await session.get_one(Permission, permission_id)
            permission.status = PermissionStatus.REVOKED
            permission.revoked_at = self.clock.now()

    async def act(self, action: Any, **kwargs: Any) -> Any:
        """Run a service action in its own transaction, as one API request would."""
        async with transaction(self.sessionmaker) as session:
            return await action(session, scope=self.scope, clock=self.clock, **kwargs)

    def at(self, when: datetime) -> None:
        self.clock.set(when)


async def make_world(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    gateway: FakeGateway,
    workspace_id: str | None = None,
) -> World:
    if workspace_id is None:
        async with transaction(sessionmaker) as session:
            created = await create_workspace(session, name="Merchant", clock=clock)
        workspace_id = created.workspace.id
    return World(sessionmaker=sessionmaker, clock=clock, gateway=gateway, workspace_id=workspace_id)


async def create_checkout(
    world: World, registry: NetworkRegistry, price_id: str, **choices: Any
) -> CheckoutSession:
    """A test-mode checkout session for one unit of `price_id`, as the API creates it; `choices`
    are `create_session`'s optional arguments (networks, tokens, customer_address, …)."""
    async with transaction(world.sessionmaker) as session:
        return await checkouts.create_session(
            session,
            workspace_id=world.workspace_id,
            mode=Mode.TEST,
            price_id=price_id,
            quantity=1,
            registry=registry,
            gateway=world.gateway,
            clock=world.clock,
            permission_lifetime=PERMISSION_LIFETIME,
            **choices,
        )


async def open_checkout(
    world: World,
    registry: NetworkRegistry,
    price_id: str,
    *,
    network: str,
    coupon_id: str | None = None,
) -> tuple[str, LocalAccount]:
    """A checkout session of `price_id` for a fresh customer wallet paying USDC on `network`."""
    customer: LocalAccount = Account.create()
    created = await create_checkout(
        world,
        registry,
        price_id,
        customer_address=customer.address,
        network_key=network,
        token_symbol="USDC",
        coupon_id=coupon_id,
    )
    return created.id, customer


async def prepare_checkout(
    world: World,
    registry: NetworkRegistry,
    checkout_id: str,
    *,
    customer_address: str | None = None,
    network: str | None = None,
    token: str | None = None,
) -> CheckoutSession:
    """Prepare the checkout session for a wallet, network and token, as the API does."""
    async with transaction(world.sessionmaker) as session:
        return await completion.prepare_session(
            session,
            workspace_id=world.workspace_id,
            mode=Mode.TEST,
            checkout_id=checkout_id,
            customer_address=customer_address,
            network_key=network,
            token_symbol=token,
            registry=registry,
            gateway=world.gateway,
            clock=world.clock,
            permission_lifetime=PERMISSION_LIFETIME,
        )


async def sign_and_complete(
    world: World, registry: NetworkRegistry, checkout_id: str, signer: LocalAccount
) -> completion.Completed:
    """`signer` signs the checkout session's EIP-712 delegation, and the session is completed."""
    async with world.sessionmaker() as session:
        typed = signing_request(prepared_terms(await session.get_one(CheckoutSession, checkout_id)))
    signature = bytes(Account.sign_typed_data(signer.key, full_message=typed).signature)
    return await complete_checkout(world, registry, checkout_id, signature=signature)


async def complete_checkout(
    world: World, registry: NetworkRegistry, checkout_id: str, **proof: Any
) -> completion.Completed:
    """Complete the checkout session with `proof` (``signature`` or ``grant``), as the API does."""
    async with transaction(world.sessionmaker) as session:
        return await completion.complete_session(
            session,
            workspace_id=world.workspace_id,
            mode=Mode.TEST,
            checkout_id=checkout_id,
            registry=registry,
            checker=RpcSignatureChecker(registry),
            clock=world.clock,
            **proof,
        )


async def add_payout_address(world: World, *, network: str, address: str = PAYEE) -> None:
    """The workspace's test-mode payout address on `network`."""
    async with transaction(world.sessionmaker) as session:
        session.add(
            PayoutAddress(
                id=new_id("payout"),
                workspace_id=world.workspace_id,
                mode=Mode.TEST,
                network=network,
                address=address,
            )
        )


async def subscribe_through_checkout(
    world: World, registry: NetworkRegistry, price_id: str, *, network: str
) -> tuple[str, LocalAccount]:
    """A subscription to `price_id` made by a real checkout on `network` (a payout address is
    added): a fresh customer signs, and the first period, if any is due, is collected."""
    await add_payout_address(world, network=network)
    checkout_id, customer = await open_checkout(world, registry, price_id, network=network)
    completed = await sign_and_complete(world, registry, checkout_id, customer)
    if completed.payment is not None:
        assert await world.collect(completed.payment.id) is PaymentStatus.SUCCEEDED
    return completed.subscription.id, customer
