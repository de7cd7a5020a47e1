"""Test clocks from the dashboard (test mode): list them, make one, advance one.

Advancing is the API's (`cyphera.testclock.service.request_advance`): the clock becomes
``advancing`` and the worker walks its subscriptions through every renewal on the way, on the
local chain too; the page shows the status until it is ``ready`` again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.exceptions import InvalidRequest
from cyphera.kit.pagination import PageRequest
from cyphera.testclock import service as test_clocks
from cyphera.web import words
from cyphera.web.dashboard import access
from cyphera.web.dashboard.deps import ActingDep, ChangingDep
from cyphera.web.dashboard.forms import whole_number
from cyphera.web.dashboard.frame import frame, pages_of

router = APIRouter(include_in_schema=False)
WS = access.PATH + "/{workspace_id}/{mode}"
CsrfField = Annotated[str | None, Form(alias="csrf_token")]
STEPS = {"1": "1 day", "7": "1 week", "30": "30 days", "31": "31 days", "365": "1 year"}


@router.get(WS + "/test_clocks", response_class=HTMLResponse)
async def dashboard_test_clocks(
    acting: ActingDep, request: Request, session: SessionDep
) -> Response:
    found = await test_clocks.list_clocks(session, scope=acting.scope, page=PageRequest(limit=50))
    context = await frame(request, session, acting, "test_clocks")
    context |= {
        "clocks": [
            {
                "id": c.id,
                "name": c.name or c.id,
                "time": words.moment(c.frozen_time),
                "status": c.status.value,
            }
            for c in found.items
        ],
        "steps": STEPS,
    }
    return pages_of(request).render("dashboard/test_clocks.html", context)


@router.post(WS + "/test_clocks")
async def dashboard_create_test_clock(
    acting: ChangingDep,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    name: Annotated[str, Form()] = "",
) -> Response:
    if len(name) > 300 or "\x00" in name:
        raise InvalidRequest("a name is at most 300 characters", code="parameter_invalid")
    await test_clocks.create(
        session,
        scope=acting.scope,
        frozen_time=clock.now().replace(microsecond=0),
        name=name.strip() or None,
        metadata=None,
        clock=clock,
    )
    return RedirectResponse(f"{acting.base}/test_clocks", status_code=303)


@router.post(WS + "/test_clocks/{test_clock_id}/advance")
async def dashboard_advance_test_clock(
    acting: ChangingDep,
    test_clock_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    days: Annotated[str, Form()] = "1",
) -> Response:
    if days not in STEPS:
        raise InvalidRequest(
            f"advance by one of {', '.join(STEPS)} days", code="parameter_invalid", param="days"
        )
    current = await test_clocks.get(session, scope=acting.scope, test_clock_id=test_clock_id)
    await test_clocks.request_advance(
        session,
        scope=acting.scope,
        test_clock_id=test_clock_id,
        to=current.frozen_time + timedelta(days=whole_number(days, "days")),
        clock=clock,
    )
    return RedirectResponse(f"{acting.base}/test_clocks", status_code=303)
