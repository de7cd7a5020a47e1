"""Renewals at scale: N subscriptions due at once, until every renewal is paid and confirmed.

Run it with ``make bench-renewals`` (``uv run --frozen python scripts/bench_renewals.py``;
``--subscriptions`` sets N, 10,000 by default; ``--concurrency`` the worker's jobs at once).
Everything is real and local: a private PostgreSQL cluster, anvil with the Delegation Framework,
the gRPC signer (in this process) and a procrastinate worker (in this process, as
``cyphera worker`` runs it). It

1. starts anvil 40 days in the past, so that the platform's clock and the chain's agree and
   every job's time is in the database's past (a clock ahead of the database would schedule
   rechecks in its future);
2. makes a workspace, a monthly price and N customers, each a fresh account upgraded to the
   framework's EIP-7702 delegator, funded with test USDC, subscribing through a checkout session
   whose EIP-712 delegation it signs (the services the API uses) — progress is printed;
3. lets the worker collect the N first charges (timed: the first figure);
4. moves the chain and the clock past the period's end, runs the renewal tick and times until
   every renewal invoice is paid with its charge confirmed (the second figure), then prints how
   the signer packed the charges (transactions, charges per transaction, gas).

Target (issue #13): 10,000 renewals in ≤ 30 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from eth_account import Account
from pydantic import SecretStr
from sqlalchemy import func, select, text

from cyphera.api.app import create_app
from cyphera.auth.chain_reader import RpcSignatureChecker
from cyphera.chain.devnet import Devnet, start_devnet
from cyphera.chain.local import LOCAL_NETWORK_KEY
from cyphera.checkout import completion
from cyphera.checkout import service as checkout_sessions
from cyphera.checkout.terms import prepared_terms, signing_request
from cyphera.config import AuthSettings, DatabaseSettings, Environment, Settings
from cyphera.db.engine import create_engine, create_sessionmaker, transaction
from cyphera.kit.logs import configure_logging
from cyphera.models import Invoice, Price
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.mixins import Mode
from cyphera.payment.signer_gateway import SignerGateway
from cyphera.signer.client import SignerClient
from cyphera.signer.config import SignerSettings
from cyphera.signer.keys import RelayerKey
from cyphera.signer.server import start_signer
from cyphera.subscription import billing
from cyphera.worker.app import additional_context
from cyphera.worker.app import create_app as create_worker_app
from cyphera.worker.context import WorkerContext
from cyphera.workspace.service import create_workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lists import private_database

SIGNER_TOKEN = "bench-signer-token-with-enough-entropy-0123456789"  # noqa: S105 - a local run's
PRICE_CENTS = 1999
FUNDS = 1_000 * 10**6  # 1,000 test USDC
HEAD_START = timedelta(days=40)


class ChainClock:
    """The wall clock moved by a fixed offset: the chain's time, as anvil keeps it."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def follow(self, chain: Devnet) -> None:
        """Take the chain's current offset from the wall clock (after a time travel)."""
        self.offset = timedelta(seconds=chain.latest_timestamp() - time.time())


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _merchant(api: httpx.AsyncClient, payout: str) -> str:
    set_payout = await api.post(
        f"/v1/payout_addresses/{LOCAL_NETWORK_KEY}", json={"address": payout}
    )
    product = await api.post("/v1/products", json={"name": "Bench plan"})
    price = await api.post(
        "/v1/prices",
        json={
            "product": product.json()["id"],
            "unit_amount": PRICE_CENTS,
            "currency": "usd",
            "recurring": {"interval": "month"},
        },
    )
    for answer in (set_payout, product, price):
        if answer.status_code != 200:
            raise SystemExit(f"setting up the merchant failed: {answer.text}")
    return str(price.json()["id"])


async def _paid(sessionmaker: object, period_index: int) -> int:
    async with sessionmaker() as session:  # type: ignore[operator]
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Invoice)
                .where(Invoice.period_index == period_index, Invoice.status == InvoiceStatus.PAID)
            )
            or 0
        )


async def _until_paid(sessionmaker: object, period_index: int, count: int, limit: float) -> float:
    started = time.perf_counter()
    last = -1
    while True:
        paid = await _paid(sessionmaker, period_index)
        if paid != last:
            say(f"  {paid:,}/{count:,} paid ({time.perf_counter() - started:.1f} s)")
            last = paid
        if paid >= count:
            return time.perf_counter() - started
        if time.perf_counter() - started > limit:
            raise SystemExit(f"only {paid:,} of {count:,} paid after {limit:.0f} s")
        await asyncio.sleep(0.25)


async def run(database_url: str, count: int, concurrency: int, batch: int) -> dict[str, float]:
    genesis = int(time.time() - HEAD_START.total_seconds())
    chain = start_devnet(anvil_args=("--timestamp", str(genesis)))
    clock = ChainClock(timedelta(0))
    clock.follow(chain)
    engine = create_engine(DatabaseSettings(url=SecretStr(database_url), pool_size=concurrency + 5))
    sessionmaker = create_sessionmaker(engine)
    relayer = chain.new_account(ether=10_000)
    signer = await start_signer(
        SignerSettings(
            database=DatabaseSettings(url=SecretStr(database_url), pool_size=5),
            auth_tokens=[SecretStr(SIGNER_TOKEN)],
            listen_address="127.0.0.1:0",
            poll_interval_seconds=0.1,
            max_batch_size=batch,
            # The relayer's hourly gas budget (about 3,800 charges by default) would hold the
            # benchmark's own charges back: it measures throughput, not the budget.
            gas_budget_per_hour={chain.network.chain_id: 10**13},
        ),
        key=RelayerKey.from_private_key(relayer.key),
        registry=chain.registry,
    )
    client = SignerClient(f"127.0.0.1:{signer.port}", SIGNER_TOKEN, timeout_seconds=60)
    gateway = SignerGateway(client)
    worker = create_worker_app(database_url.replace("postgresql+psycopg://", "postgresql://"))
    figures: dict[str, float] = {}
    try:
        async with transaction(sessionmaker) as session:
            created = await create_workspace(session, name="Bench", clock=clock)
        workspace_id = created.workspace.id
        settings = Settings(
            environment=Environment.TEST,
            database=DatabaseSettings(url=SecretStr(database_url), pool_size=2),
            auth=AuthSettings(api_key_rate_limit="100000/second"),
        )
        app = create_app(
            settings,
            sessionmaker=sessionmaker,
            clock=clock,
            gateway=gateway,
            registry=chain.registry,
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://127.0.0.1:8000",
                headers={"Authorization": f"Bearer {created.secret_key}"},
            ) as api,
        ):
            price_id = await _merchant(api, chain.new_account(ether=0).address)
        async with sessionmaker() as session:
            price = await session.get_one(Price, price_id)
        checker = RpcSignatureChecker(chain.registry)

        say(
            f"subscribing {count:,} customers (accounts upgraded to 7702, funded, delegations signed)…"
        )
        started = time.perf_counter()
        for number in range(1, count + 1):
            customer = chain.new_account(ether=1)
            await asyncio.to_thread(chain.upgrade_to_7702, customer, sponsor=customer)
            await asyncio.to_thread(chain.fund_token, "USDC", customer.address, FUNDS)
            async with transaction(sessionmaker) as session:
                checkout = await checkout_sessions.create_session(
                    session,
                    workspace_id=workspace_id,
                    mode=Mode.TEST,
                    price_id=price.id,
                    quantity=1,
                    registry=chain.registry,
                    gateway=gateway,
                    clock=clock,
                    permission_lifetime=timedelta(days=365),
                    customer_address=customer.address,
                    network_key=LOCAL_NETWORK_KEY,
                    token_symbol="USDC",  # noqa: S106 - a token, not a password
                )
                typed = signing_request(prepared_terms(checkout))
            signature = bytes(Account.sign_typed_data(customer.key, full_message=typed).signature)
            async with transaction(sessionmaker) as session:
                await completion.complete_session(
                    session,
                    workspace_id=workspace_id,
                    mode=Mode.TEST,
                    checkout_id=checkout.id,
                    signature=signature,
                    grant=None,
                    registry=chain.registry,
                    checker=checker,
                    clock=clock,
                )
            if number % max(count // 20, 1) == 0 or number == count:
                say(f"  {number:,}/{count:,} subscribed ({time.perf_counter() - started:.0f} s)")
        figures["setup_seconds"] = time.perf_counter() - started

        context = WorkerContext(
            sessionmaker=sessionmaker, gateway=gateway, clock=clock, registry=chain.registry
        )
        async with worker.open_async():
            working = asyncio.create_task(
                worker.run_worker_async(
                    concurrency=concurrency,
                    install_signal_handlers=False,
                    additional_context=additional_context(context),
                )
            )
            try:
                say(f"first charges, by the worker ({concurrency} jobs at once)…")
                figures["first_seconds"] = await _until_paid(sessionmaker, 0, count, 3600)

                say("a month later: the renewal tick, then every renewal charged…")
                chain.time_travel(31 * 86_400)
                chain.mine()
                clock.follow(chain)
                started = time.perf_counter()
                # The worker's own minutely tick may take some of them meanwhile (SKIP LOCKED):
                # together they renew each subscription once.
                await billing.renew_all_due(sessionmaker, clock=clock)
                figures["tick_seconds"] = time.perf_counter() - started
                paid_after = await _until_paid(sessionmaker, 1, count, 3600)
                figures["renewal_seconds"] = figures["tick_seconds"] + paid_after
            finally:
                working.cancel()
                await asyncio.gather(working, return_exceptions=True)
        async with sessionmaker() as session:
            packed = (
                await session.execute(
                    text(
                        "SELECT count(DISTINCT transaction_id), count(*) FROM signer_charges "
                        "WHERE transaction_id IS NOT NULL"
                    )
                )
            ).one()
        figures["transactions"], figures["charges"] = float(packed[0]), float(packed[1])
    finally:
        await client.close()
        await signer.stop(grace=0)
        await engine.dispose()
        chain.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8, help="worker jobs at once")
    parser.add_argument("--batch", type=int, default=20, help="the signer's max batch size")
    parser.add_argument("--database-url", help="an empty, migrated database (psycopg URL)")
    args = parser.parse_args(argv)
    configure_logging(level="WARNING", console=True, secrets=[])  # the figures stay readable
    with private_database(args.database_url) as url:
        figures = asyncio.run(run(url, args.subscriptions, args.concurrency, args.batch))
    n = args.subscriptions
    renewal = figures["renewal_seconds"]
    print(f"| {n:,} subscriptions, worker concurrency {args.concurrency}, batch ≤ {args.batch} | |")
    print("|---|---|")
    print(f"| set-up (accounts, funding, checkout) | {figures['setup_seconds']:.1f} s |")
    print(f"| first charges, all paid | {figures['first_seconds']:.1f} s |")
    print(f"| renewal tick (invoices opened, jobs enqueued) | {figures['tick_seconds']:.2f} s |")
    print(f"| renewals, tick to all paid and confirmed | {renewal:.1f} s ({n / renewal:.0f}/s) |")
    per_tx = figures["charges"] / max(figures["transactions"], 1)
    print(
        f"| on-chain transactions (charges per transaction) | {figures['transactions']:.0f} ({per_tx:.1f}) |"
    )
    print(f"renewals: {n:,} in {renewal:.1f} s (target: 10,000 in ≤ 30 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
