"""``/healthz`` (the process answers) and ``/readyz`` (and it can reach its database)."""

from __future__ import annotations

import asyncio
from typing import Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api.errors import ErrorResponse, error_response

READY_TIMEOUT_SECONDS = 2.0

log = structlog.get_logger(__name__)
router = APIRouter(tags=["Health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    response_model=Health,
    responses={503: {"model": ErrorResponse, "description": "The database does not answer."}},
)
async def readyz(request: Request) -> Health | JSONResponse:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("api.not_ready", error=type(exc).__name__)
        return error_response(
            503,
            error_type="api_error",
            code="database_unavailable",
            message="The database does not answer.",
        )
    return Health()
