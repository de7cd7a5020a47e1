"""Webhook delivery fixtures: a real receiver on loopback and dispatchers on the test database."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import DEV_ENCRYPTION_KEY
from cyphera.kit.clock import FrozenClock
from cyphera.webhook.dispatcher import DeliveryPolicy, Dispatcher
from cyphera.webhook.secrets import SecretBox
from cyphera.webhook.sender import Resolver, WebhookSender, system_resolver
from tests.webhook.receiver import Receiver, running_receiver

# Short enough for tests, and one deadline for the whole attempt as in production.
TEST_POLICY = DeliveryPolicy(timeout=timedelta(seconds=2), poll_interval=timedelta(seconds=0.05))

MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def delivery_clock(api_clock: FrozenClock) -> FrozenClock:
    """The API's clock, set near the real time: receivers check ``webhook-timestamp`` against
    their own clock. The dispatchers read it too, so both sides agree on, e.g., a rotation."""
    api_clock.set(datetime.now(UTC).replace(microsecond=0))
    return api_clock


@pytest.fixture
async def make_dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession], delivery_clock: FrozenClock
) -> AsyncIterator[MakeDispatcher]:
    senders: list[WebhookSender] = []

    def make(
        policy: DeliveryPolicy = TEST_POLICY, resolver: Resolver = system_resolver
    ) -> Dispatcher:
        sender = WebhookSender(timeout=policy.timeout.total_seconds(), resolver=resolver)
        senders.append(sender)
        return Dispatcher(
            sessionmaker,
            sender=sender,
            box=SecretBox(DEV_ENCRYPTION_KEY),
            clock=delivery_clock,
            policy=policy,
            rng=random.Random(7),
        )

    yield make
    for sender in senders:
        await sender.aclose()


async def add_endpoint(
    api: httpx.AsyncClient, url: str, events: list[str] | None = None
) -> dict[str, str]:
    """A webhook endpoint made through the API: its JSON, with the secret."""
    created = await api.post(
        "/v1/webhook_endpoints", json={"url": url, "enabled_events": events or ["*"]}
    )
    assert created.status_code == 200, created.text
    endpoint: dict[str, str] = created.json()
    return endpoint


async def add_customer(api: httpx.AsyncClient) -> str:
    """A customer made through the API (a ``customer.created`` event); its id."""
    created = await api.post("/v1/customers", json={"address": "0x" + secrets.token_hex(20)})
    assert created.status_code == 200, created.text
    customer_id: str = created.json()["id"]
    return customer_id
