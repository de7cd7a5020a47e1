"""Every error leaves the API in one shape: ``{"error": {"type", "code", "message", "param"}}``.

- `AppError` → the HTTP status of its ``kind`` (below) with its stable ``code``.
- Request validation (FastAPI/pydantic) → ``400`` with ``parameter_missing``, ``parameter_unknown``
  or ``parameter_invalid`` and ``param`` as the dotted path of the field (``recurring.interval``);
  a body that is not JSON → ``400 json_invalid``; a body that is not an object → ``400 body_invalid``.
- Unknown routes → ``404 unrecognized_request_url``; wrong method → ``405 method_not_allowed``.
- The database unreachable → ``503 service_unavailable`` (safe to retry).
- Anything else is our bug → ``500 internal_error`` with a generic message; the details go to the
  log under the request id (`cyphera.api.middleware`).

``type`` follows Stripe's families so integrators can branch on it coarsely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from cyphera.exceptions import HTTP_STATUS_BY_KIND, AppError, ErrorKind, RateLimited

STATUS_BY_KIND: Mapping[ErrorKind, int] = HTTP_STATUS_BY_KIND
TYPE_BY_KIND: Mapping[ErrorKind, str] = {
    ErrorKind.INVALID: "invalid_request_error",
    ErrorKind.NOT_FOUND: "invalid_request_error",
    ErrorKind.CONFLICT: "invalid_request_error",
    ErrorKind.UNAUTHENTICATED: "authentication_error",
    ErrorKind.FORBIDDEN: "permission_error",
    ErrorKind.UNAVAILABLE: "api_error",
    ErrorKind.RATE_LIMITED: "invalid_request_error",
    ErrorKind.INTERNAL: "api_error",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
INTERNAL_MESSAGE = (
    "Something went wrong on our side. The request id (X-Request-Id) identifies it in our logs."
)

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    type: str = Field(
        description="Family of the error: invalid_request_error, authentication_error, "
        "permission_error, idempotency_error or api_error.",
        examples=["invalid_request_error"],
    )
    code: str = Field(
        description="Stable snake_case code to switch on.", examples=["parameter_invalid"]
    )
    message: str = Field(description="What went wrong, for a human.")
    param: str | None = Field(
        description="The parameter at fault, as a dotted path, when there is one.",
        examples=["recurring.interval"],
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


def _example(status_type: str, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"type": status_type, "code": code, "message": message, "param": param}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "The request is invalid (bad, missing or unknown parameter).",
        "content": {
            "application/json": {
                "example": _example(
                    "invalid_request_error",
                    "parameter_invalid",
                    "Invalid unit_amount: Input should be greater than or equal to 0.",
                    "unit_amount",
                )
            }
        },
    },
    401: {
        "model": ErrorResponse,
        "description": "No valid API key was given.",
        "content": {
            "application/json": {
                "example": _example(
                    "authentication_error", "api_key_invalid", "Invalid API key provided."
                )
            }
        },
    },
    403: {
        "model": ErrorResponse,
        "description": "The API key may not do this (a restricted key writing).",
        "content": {
            "application/json": {
                "example": _example(
                    "permission_error",
                    "permission_denied",
                    "This API key is restricted to reading; use a secret key to write.",
                )
            }
        },
    },
    404: {
        "model": ErrorResponse,
        "description": "No such object in this workspace and mode.",
        "content": {
            "application/json": {
                "example": _example(
                    "invalid_request_error",
                    "resource_missing",
                    "No such product: 'prod_123'",
                    "id",
                )
            }
        },
    },
    409: {
        "model": ErrorResponse,
        "description": "A request with the same Idempotency-Key is still in progress.",
        "content": {
            "application/json": {
                "example": _example(
                    "idempotency_error",
                    "idempotency_key_in_use",
                    "A request with this Idempotency-Key is in progress; retry when it is done.",
                )
            }
        },
    },
    429: {
        "model": ErrorResponse,
        "description": "Too many requests with this API key (`rate_limited`); retry after the "
        "`Retry-After` header's seconds.",
        "content": {
            "application/json": {
                "example": _example(
                    "invalid_request_error",
                    "rate_limited",
                    "Too many requests with this API key; retry in 1 seconds.",
                )
            }
        },
    },
}


def error_body(
    *, error_type: str, code: str, message: str, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"type": error_type, "code": code, "message": message, "param": param}}


def error_response(
    status_code: int,
    *,
    error_type: str,
    code: str,
    message: str,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(error_type=error_type, code=code, message=message, param=param),
        status_code=status_code,
        headers=dict(headers) if headers else None,
    )


def app_error_response(exc: AppError) -> JSONResponse:
    status_code = STATUS_BY_KIND.get(exc.kind, 500)
    error_type = TYPE_BY_KIND.get(exc.kind, "api_error")
    if exc.code.startswith("idempotency_"):
        error_type = "idempotency_error"
    message = exc.message
    if exc.kind is ErrorKind.INTERNAL:
        log.error("api.internal_error", code=exc.code, message=exc.message)
        message = INTERNAL_MESSAGE
    headers = {"WWW-Authenticate": "Bearer"} if exc.kind is ErrorKind.UNAUTHENTICATED else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(
        status_code,
        error_type=error_type,
        code=exc.code,
        message=message,
        param=exc.param,
        headers=headers,
    )


async def handle_app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return app_error_response(exc)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first: Mapping[str, Any] = errors[0] if errors else {"type": "", "loc": (), "msg": ""}
    code, message, param = describe_validation_error(first)
    return error_response(
        400, error_type="invalid_request_error", code=code, message=message, param=param
    )


def describe_validation_error(error: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(code, message, param) for one pydantic/FastAPI validation error."""
    error_type = str(error.get("type", ""))
    loc: Sequence[Any] = error.get("loc", ())
    source = str(loc[0]) if loc else "body"
    path = [str(part) for part in loc[1:]]
    if error_type == "json_invalid":
        return (
            "json_invalid",
            "The request body is not valid JSON. Send a JSON object with "
            "`Content-Type: application/json`.",
            None,
        )
    if source == "body" and not path:
        if error_type == "missing":
            return ("parameter_missing", "This request needs a JSON object as its body.", None)
        return (
            "body_invalid",
            "The request body must be a JSON object, sent with `Content-Type: application/json`.",
            None,
        )
    # pydantic marks a failing dict key with a trailing "[key]"; the param is the key itself.
    if path and path[-1] == "[key]":
        path = path[:-1]
    param = ".".join(path) if path else None
    if error_type == "missing":
        return ("parameter_missing", f"Missing required param: {param}.", param)
    if error_type == "extra_forbidden":
        return ("parameter_unknown", f"Received unknown parameter: {param}.", param)
    detail = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return ("parameter_invalid", f"Invalid {param}: {detail}.", param)


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 404:
        return error_response(
            404,
            error_type="invalid_request_error",
            code="unrecognized_request_url",
            message=f"Unrecognized request URL ({request.method}: {request.url.path}).",
            headers=headers,
        )
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return error_response(
            405,
            error_type="invalid_request_error",
            code="method_not_allowed",
            message=f"{request.method} is not allowed on {request.url.path}"
            + (f"; use {', '.join(allowed)}." if allowed else "."),
            headers=headers,
        )
    error_type = "invalid_request_error" if exc.status_code < 500 else "api_error"
    return error_response(
        exc.status_code,
        error_type=error_type,
        code="invalid_request" if exc.status_code < 500 else "internal_error",
        message=str(exc.detail),
        headers=headers,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path.

    Starlette's own ``Allow`` names only the first route that matched the path, which is wrong
    when GET and POST of one path are separate routes.
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def handle_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("api.database_unavailable", error=type(exc).__name__)
    return error_response(
        503,
        error_type="api_error",
        code="service_unavailable",
        message="The database is not answering right now; retry the request shortly.",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(OperationalError, handle_database_unavailable)
    app.add_exception_handler(PoolTimeoutError, handle_database_unavailable)
