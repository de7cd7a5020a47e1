from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.networks import NetworkRegistry
from cyphera.kit.clock import FrozenClock
from cyphera.kit.hosted import DEV_HOSTED_SECRET
from cyphera.subscription.pending import PermissionRequester
from tests.subscription.helpers import FakeGateway, World, make_world

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
async def world(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, gateway: FakeGateway
) -> World:
    return await make_world(sessionmaker, clock, gateway)


@pytest.fixture
def requester(world: World, registry: NetworkRegistry) -> PermissionRequester:
    """What the API passes to `changes.update`: a change needing a new permission waits as a
    ``pending_update`` instead of being refused. `registry` is the module's: the chain-backed
    one (`tests.fixtures.platform`) unless the module offers an offline one."""
    return PermissionRequester(
        registry=registry,
        gateway=world.gateway,
        permission_lifetime=timedelta(days=365),
        base_url="https://api.example.test",
        hosted_secret=DEV_HOSTED_SECRET.encode(),
    )
