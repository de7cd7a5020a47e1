"""Fixtures for the signer: a real grpc.aio server on a free port, a fresh migrated database and
the session's anvil chain (snapshot-reverted per test), customers who are EIP-7702 accounts
holding test USDC and granting a bounded delegation to the relayer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.devnet import Devnet
from cyphera.chain.devnet.helpers import transact
from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.config import DatabaseSettings
from cyphera.delegation import (
    ROOT_AUTHORITY,
    Caveat,
    Delegation,
    default_periodic_caveats,
    encode_disable_delegation,
    encode_permission_context,
    sign_delegation,
)
from cyphera.signer.client import SignerClient
from cyphera.signer.config import SignerSettings
from cyphera.signer.keys import RelayerKey
from cyphera.signer.models import SignerCharge, SignerTransaction
from cyphera.signer.schemas import ChargeInput
from cyphera.signer.server import RunningSigner, start_signer
from tests.signer.books import Books

TOKEN = "test-signer-token-with-enough-entropy-0123456789"
USDC = 10**6
DAY = 86_400
PERIOD_SECONDS = 30 * DAY
PERIOD_AMOUNT = 25 * USDC
LOCAL_CHAIN_ID = 31337


@dataclass
class Grant:
    """A customer's signed delegation to the relayer, and what it allows."""

    customer: LocalAccount
    delegation: Delegation
    context: bytes
    payee: str
    token: str
    period_amount: int
    books: Books

    def charge(
        self,
        key: str,
        *,
        amount: int | None = None,
        payee: str | None = None,
        token: str | None = None,
        owed: bool = True,
    ) -> ChargeInput:
        """A charge under this grant, recorded in the books as owed unless `owed` is False."""
        charge = ChargeInput(
            idempotency_key=key,
            chain_id=LOCAL_CHAIN_ID,
            permission_context=self.context,
            token=token or self.token,
            payee=payee or self.payee,
            amount=self.period_amount if amount is None else amount,
        )
        if owed:
            self.books.owe(charge)
        return charge


@dataclass
class SignerWorld:
    """Everything a signer test works with."""

    chain: Devnet
    relayer: LocalAccount
    registry: NetworkRegistry
    database_url: str
    sessionmaker: async_sessionmaker[AsyncSession]
    books: Books

    @property
    def usdc(self) -> str:
        return self.chain.network.token("USDC").address

    def settings(self, **overrides: Any) -> SignerSettings:
        values: dict[str, Any] = {
            "database": DatabaseSettings(url=SecretStr(self.database_url), pool_size=5),
            "auth_tokens": [SecretStr(TOKEN)],
            "listen_address": "127.0.0.1:0",
            "poll_interval_seconds": 0.1,
            "stuck_after_seconds": 60.0,
            "max_wait_seconds": 30,
            **overrides,
        }
        return SignerSettings(**values)

    def customer(self, *, usdc: int = 100 * USDC) -> LocalAccount:
        """A fresh EOA upgraded to EIP7702StatelessDeleGator (self-sponsored, so the relayer's
        nonces stay the signer's alone), holding `usdc` test USDC."""
        account = self.chain.new_account()
        self.chain.upgrade_to_7702(account, sponsor=account)
        if usdc:
            self.chain.fund_token("USDC", account.address, usdc)
        return account

    def grant(
        self,
        customer: LocalAccount,
        *,
        period_amount: int = PERIOD_AMOUNT,
        expiry_in: int = 365 * DAY,
        delegate: str | None = None,
        payee: str | None = None,
        extra_caveats: Sequence[Caveat] = (),
    ) -> Grant:
        now = self.chain.latest_timestamp()
        framework = self.chain.deployment.framework
        payee_address = payee or Account.create().address
        caveats = default_periodic_caveats(
            framework,
            token=self.usdc,
            period_amount=period_amount,
            period_duration=PERIOD_SECONDS,
            start_date=now - 60,
            expiry=now + expiry_in,
            payee=payee_address,
        )
        unsigned = Delegation(
            delegate=delegate or self.relayer.address,
            delegator=customer.address,
            authority=ROOT_AUTHORITY,
            caveats=[*caveats, *extra_caveats],
            salt=now,
        )
        signed = sign_delegation(
            unsigned,
            customer.key,
            chain_id=LOCAL_CHAIN_ID,
            delegation_manager=framework.delegation_manager,
        )
        return Grant(
            customer=customer,
            delegation=signed,
            context=encode_permission_context([signed]),
            payee=payee_address,
            token=self.usdc,
            period_amount=period_amount,
            books=self.books,
        )

    def revoke(self, grant: Grant) -> None:
        """The customer disables the delegation at the manager (a 7702 account calls it itself)."""
        transact(
            self.chain.w3,
            grant.customer,
            self.chain.deployment.framework.delegation_manager,
            encode_disable_delegation(grant.delegation),
        )

    def balance(self, address: str) -> int:
        return self.chain.token_balance("USDC", address)

    async def transactions(self) -> list[SignerTransaction]:
        async with self.sessionmaker() as session:
            return list(
                await session.scalars(select(SignerTransaction).order_by(SignerTransaction.id))
            )

    async def charge_row(self, key: str) -> SignerCharge | None:
        async with self.sessionmaker() as session:
            return await session.get(SignerCharge, key)


@pytest.fixture
def world(
    chain: Devnet, database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> Iterator[SignerWorld]:
    relayer = chain.new_account(ether=10)
    registry = load_registry(
        chain.deployment, {"CYPHERA_RPC_LOCAL": chain.rpc_url}, artifacts=chain.artifacts
    )
    books = Books(database_url)
    yield SignerWorld(chain, relayer, registry, database_url, sessionmaker, books)
    books.close()


StartSigner = Callable[..., Awaitable[tuple[RunningSigner, SignerClient]]]


@pytest.fixture
async def start(world: SignerWorld) -> AsyncIterator[StartSigner]:
    """Start a signer (and a client for it); every one started is stopped after the test."""
    started: list[tuple[RunningSigner, SignerClient]] = []

    async def _start(
        *,
        registry: NetworkRegistry | None = None,
        settings: SignerSettings | None = None,
        **parts: Any,
    ) -> tuple[RunningSigner, SignerClient]:
        running = await start_signer(
            settings or world.settings(),
            key=RelayerKey.from_private_key(world.relayer.key),
            registry=registry or world.registry,
            **parts,
        )
        client = SignerClient(f"127.0.0.1:{running.port}", TOKEN, timeout_seconds=15)
        started.append((running, client))
        return running, client

    yield _start
    for running, client in reversed(started):
        await client.close()
        with contextlib.suppress(Exception):
            await running.stop(grace=0)


@pytest.fixture
async def signer(start: StartSigner) -> tuple[RunningSigner, SignerClient]:
    return await start()


@pytest.fixture
def client(signer: tuple[RunningSigner, SignerClient]) -> SignerClient:
    return signer[1]


class Hang:
    """A tx-manager hook that parks the signer at that point (a crash, once the signer is
    stopped there) and records which transaction it caught."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.caught: SignerTransaction | None = None

    async def __call__(self, tx: SignerTransaction) -> None:
        self.caught = tx
        self.reached.set()
        await asyncio.Event().wait()
