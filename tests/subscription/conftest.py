from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock
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
