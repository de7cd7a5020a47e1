"""``/v1/test_clocks``: test-mode clocks that subscriptions attached at checkout live by."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.kit.clock import from_unix
from cyphera.kit.pagination import ListObject, ListParams
from cyphera.testclock import service
from cyphera.testclock.schemas import DeletedTestClock, TestClock, TestClockAdvance, TestClockCreate

router = APIRouter(tags=["Test clocks"])
PATH = "/v1/test_clocks"


@router.post(PATH, summary="Create a test clock")
async def create_test_clock(
    body: TestClockCreate, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> TestClock:
    """A clock for test mode, frozen at `frozen_time` (not in the past). Attach subscriptions by
    creating checkout sessions with `test_clock`; advance it to move them through time."""
    test_clock = await service.create(
        session,
        scope=auth.scope,
        frozen_time=from_unix(body.frozen_time),
        name=body.name,
        metadata=body.metadata,
        clock=clock,
    )
    return TestClock.from_model(test_clock)


@router.get(PATH, summary="List test clocks")
async def list_test_clocks(
    params: Annotated[ListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[TestClock]:
    page = await service.list_clocks(session, scope=auth.scope, page=params.page_request())
    return ListObject[TestClock](
        data=[TestClock.from_model(c) for c in page.items], has_more=page.has_more, url=PATH
    )


@router.get(PATH + "/{test_clock_id}", summary="Retrieve a test clock")
async def get_test_clock(test_clock_id: str, auth: AuthDep, session: SessionDep) -> TestClock:
    test_clock = await service.get(session, scope=auth.scope, test_clock_id=test_clock_id)
    return TestClock.from_model(test_clock)


@router.delete(PATH + "/{test_clock_id}", summary="Delete a test clock")
async def delete_test_clock(
    test_clock_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> DeletedTestClock:
    """Delete the clock; the subscriptions attached to it are canceled at once."""
    test_clock = await service.delete(
        session, scope=auth.scope, test_clock_id=test_clock_id, clock=clock
    )
    return DeletedTestClock(id=test_clock.id)


@router.post(PATH + "/{test_clock_id}/advance", summary="Advance a test clock")
async def advance_test_clock(
    test_clock_id: str,
    body: TestClockAdvance,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
) -> TestClock:
    """Move the clock forward to `frozen_time` (at most 3 years at once). The clock is
    `advancing` until every renewal, trial end and retry on the way has happened, in order, with
    its events; then `ready`. On the local network the chain's time moves with it."""
    test_clock = await service.request_advance(
        session,
        scope=auth.scope,
        test_clock_id=test_clock_id,
        to=from_unix(body.frozen_time),
        clock=clock,
    )
    return TestClock.from_model(test_clock)
