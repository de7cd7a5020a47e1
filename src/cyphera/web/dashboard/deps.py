"""The dashboard's request dependencies: the member acting in the URL's workspace and mode.

`ActingDep` resolves ``/dashboard/{workspace_id}/{mode}/…`` to the signed-in member there
(`access.acting`); `ChangingDep` also checks the form's CSRF token and ``manage_billing``. A
handler that declares one never sees a stranger, and its errors (any `AppError`) become the
page states of `frame.failed` through `page_errors` (installed by `cyphera.web.routes`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.exceptions import AppError
from cyphera.web.dashboard import access
from cyphera.web.dashboard.frame import failed, mode_of

API_PREFIX = access.PATH + "/api/"


async def _acting(
    workspace_id: str, mode: str, request: Request, session: SessionDep, clock: ClockDep
) -> access.Acting:
    return await access.acting(
        request, session, clock, workspace_id=workspace_id, mode=mode_of(mode)
    )


async def _changing(
    workspace_id: str,
    mode: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    csrf_token: Annotated[str | None, Form(alias="csrf_token")] = None,
) -> access.Acting:
    return await access.acting_to_change(
        request,
        session,
        clock,
        workspace_id=workspace_id,
        mode=mode_of(mode),
        csrf_token=csrf_token,
    )


async def _submitting(
    workspace_id: str,
    mode: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    csrf_token: Annotated[str | None, Form(alias="csrf_token")] = None,
) -> access.Acting:
    return await access.acting_to_submit(
        request,
        session,
        clock,
        workspace_id=workspace_id,
        mode=mode_of(mode),
        csrf_token=csrf_token,
    )


ActingDep = Annotated[access.Acting, Depends(_acting)]
ChangingDep = Annotated[access.Acting, Depends(_changing)]
"""`ActingDep` for a form that changes billing objects: its CSRF token and ``manage_billing``."""
SubmittingDep = Annotated[access.Acting, Depends(_submitting)]
"""`ActingDep` for a form whose capability the service decides (keys, team): its CSRF token."""

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def page_errors(api_handler: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The app's `AppError` handler, answering dashboard pages with their page states (HTML)
    and everything else (the API, the pages' JSON endpoints) as `api_handler` does."""

    async def handle(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if (
            isinstance(exc, AppError)
            and path.startswith(access.PATH)
            and not path.startswith(API_PREFIX)
        ):
            return failed(request, exc)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    return handle
