"""The worker's metrics listener: queue depth and age and the webhook backlog read from the
database, and charges counted by network and outcome as they are collected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import WorkerSettings
from cyphera.db.cluster import free_port
from cyphera.kit.clock import FrozenClock, from_unix, to_unix
from cyphera.kit.metrics import MetricsServer
from cyphera.subscription import billing
from cyphera.worker.app import create_app as create_worker_app
from cyphera.worker.metrics import serving_metrics
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    USDC,
    Platform,
    customer_account,
    run_worker_once,
    subscribe,
)
from tests.fixtures.process import ApiProcess
from tests.fixtures.scrape import Scrape, scrape, scrape_until
from tests.fixtures.webhooks import MakeDispatcher, add_customer, add_endpoint
from tests.webhook.receiver import Receiver

FAST = WorkerSettings(metrics_port=0, metrics_refresh_seconds=0.05)
CHARGES = "cyphera_charges_total"


def _libpq(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
async def worker_metrics(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], api_clock: FrozenClock
) -> AsyncIterator[str]:
    tasks = create_worker_app(_libpq(database_url)).tasks
    async with serving_metrics(FAST, sessionmaker, tasks=tasks, clock=api_clock) as server:
        assert isinstance(server, MetricsServer)
        yield f"http://127.0.0.1:{server.port}/metrics"


async def test_jobs_by_task_and_status_and_the_oldest_waiting(
    worker_metrics: str, database_url: str
) -> None:
    # Given an idle queue: every task is reported, at zero (once the gauges were first read)
    idle = await scrape_until(worker_metrics, lambda seen: bool(seen.matching("cyphera_jobs")))
    for status in ("todo", "doing", "failed"):
        [count] = idle.matching("cyphera_jobs", task=billing.COLLECT_TASK, status=status).values()
        assert count == 0
    assert idle.value("cyphera_job_oldest_waiting_seconds", task=billing.COLLECT_TASK) == 0

    # When two collections are deferred and none runs
    app = create_worker_app(_libpq(database_url))
    async with app.open_async():
        for payment_id in ("pay_metrics1", "pay_metrics2"):
            await app.configure_task(billing.COLLECT_TASK).defer_async(payment_id=payment_id)

    # Then they show as waiting, with the age of the older one; nothing else moved
    def waiting(seen: Scrape) -> bool:
        return seen.value("cyphera_jobs", task=billing.COLLECT_TASK, status="todo") == 2

    seen = await scrape_until(worker_metrics, waiting)
    assert waiting(seen)
    assert seen.value("cyphera_job_oldest_waiting_seconds", task=billing.COLLECT_TASK) > 0
    assert seen.value("cyphera_jobs", task=billing.COLLECT_TASK, status="doing") == 0
    assert seen.value("cyphera_jobs", task="billing.renew_due", status="todo") == 0
    # And no argument (a payment id) reaches a label
    assert not [v for v in seen.label_values() if v.startswith("pay_")]


async def test_the_webhook_backlog_grows_and_drains(
    worker_metrics: str,
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    delivery_clock: FrozenClock,
) -> None:
    # Given an endpoint and an event fanned out to it, not yet sent
    await add_endpoint(api, receiver.url("/hooks"))
    await add_customer(api)
    dispatcher = make_dispatcher()
    assert await dispatcher.fan_out() == 1
    delivery_clock.advance(timedelta(seconds=30))

    # Then the backlog shows one pending delivery, due for 30 s, none in flight
    # (a refresh may have read the clock before it moved: wait for one that read it after)
    def backlogged(seen: Scrape) -> bool:
        return seen.value("cyphera_webhook_deliveries_pending") == 1 and (
            seen.value("cyphera_webhook_oldest_due_seconds") == 30
        )

    seen = await scrape_until(worker_metrics, backlogged)
    assert backlogged(seen)
    assert seen.value("cyphera_webhook_deliveries_in_flight") == 0

    # When the dispatcher delivers it, the backlog drains
    assert await dispatcher.deliver_due() == 1

    def drained(seen: Scrape) -> bool:
        return seen.value("cyphera_webhook_deliveries_pending") == 0

    seen = await scrape_until(worker_metrics, drained)
    assert drained(seen)
    assert seen.value("cyphera_webhook_oldest_due_seconds") == 0


@pytest.mark.chain
async def test_charges_are_counted_by_network_and_outcome(
    platform: Platform, workspace: WorkspaceKeys, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    chain = platform.chain
    tasks = create_worker_app(_libpq(platform.database_url)).tasks
    async with (
        serving_metrics(FAST, sessionmaker, tasks=tasks, clock=platform.clock) as server,
        httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api,
    ):
        assert server is not None
        url = f"http://127.0.0.1:{server.port}/metrics"
        before = await scrape(url)
        succeeded = {"network": "local", "outcome": "succeeded", "code": ""}

        # Given a subscription whose first charge succeeded
        session = await subscribe(api, customer_account(chain), chain.new_account().address)
        first = await scrape(url)
        assert first.value(CHARGES, **succeeded) - before.value(CHARGES, **succeeded) == 1

        # When the period ends and the worker renews and charges it
        subscription = (await api.get(f"/v1/subscriptions/{session['subscription']}")).json()
        period_end = from_unix(subscription["current_period_end"])
        platform.clock.set(period_end + timedelta(seconds=5))
        chain.set_next_block_timestamp(to_unix(period_end) + 5)
        await run_worker_once(platform)

        # Then the renewal's charge is counted too, and the queue is empty again
        def renewed(seen: Scrape) -> bool:
            done = seen.value(CHARGES, **succeeded) - before.value(CHARGES, **succeeded) == 2
            return (
                done and seen.value("cyphera_jobs", task=billing.COLLECT_TASK, status="todo") == 0
            )

        seen = await scrape_until(url, renewed)
        assert renewed(seen)

        # When a customer without enough USDC subscribes
        poor = chain.new_account()
        chain.upgrade_to_7702(poor, sponsor=poor)
        chain.fund_token("USDC", poor.address, USDC)
        await subscribe(api, poor, chain.new_account().address)

        # Then the failed charge is counted with its code
        short = {"network": "local", "outcome": "failed", "code": "insufficient_balance"}
        failed = await scrape(url)
        assert failed.value(CHARGES, **short) - before.value(CHARGES, **short) == 1
        assert failed.value(CHARGES, **succeeded) == seen.value(CHARGES, **succeeded)


async def test_cyphera_worker_serves_its_metrics_on_the_configured_port(database_url: str) -> None:
    # Given `cyphera worker`, as an operator starts it, with a metrics port
    port = free_port()
    env = {"CYPHERA_DATABASE__URL": database_url, "CYPHERA_WORKER__METRICS_PORT": str(port)}
    with ApiProcess(env, command="worker", ready="metrics.listening"):
        # Then the port answers with the queue, the backlog and the counters of this process
        seen = await scrape_until(
            f"http://127.0.0.1:{port}/metrics",
            lambda seen: bool(seen.matching("cyphera_jobs", task=billing.COLLECT_TASK)),
        )
    assert seen.matching("cyphera_jobs", task=billing.COLLECT_TASK, status="todo")
    assert seen.value("cyphera_webhook_deliveries_pending") == 0
    # And the counters of this process are declared, though nothing was counted yet
    assert {"cyphera_charges", "cyphera_dead_letters", "cyphera_reconciliation_findings"} <= (
        seen.families
    )
