"""The one exception tree of Cyphera.

Every error the platform raises on purpose is an `AppError`. Each carries:

- ``kind``: what sort of failure it is (`ErrorKind`). Edges map it: the REST API to an HTTP status,
  the signer to a gRPC status code, the CLI to an exit code. Domain code never names a status.
- ``code``: a stable snake_case identifier integrators can switch on (``resource_missing``,
  ``price_inactive``, ``period_cap_reached``, ...).
- ``message``: a sentence for a human, saying what to do next where there is something to do.
- ``param``: the request field at fault, when there is one.

Tree::

    AppError
    ├── NotFound          kind=not_found     (also used for other workspaces' objects: never 403)
    ├── Conflict          kind=conflict      (state forbids it now; idempotency clashes)
    ├── InvalidRequest    kind=invalid       (the caller's input is wrong)
    ├── Unauthenticated   kind=unauthenticated
    ├── Forbidden         kind=forbidden
    ├── Unavailable       kind=unavailable   (a dependency is down; safe to retry)
    ├── RateLimited       kind=rate_limited  (too many requests; retry after a while)
    └── InternalError     kind=internal      (our bug; never for caller mistakes)

Domains subclass these in their own ``errors.py``. Third-party exceptions are wrapped where they
enter (``raise SomeAppError(...) from exc``) and never cross a service boundary.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.StrEnum):
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"


HTTP_STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.INTERNAL: 500,
}
"""The HTTP status of each kind, for the HTTP edges (the REST API and the pages)."""


class AppError(Exception):
    """Root of every deliberate error. See the module docstring for the tree."""

    kind: ErrorKind = ErrorKind.INTERNAL
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param


class NotFound(AppError):
    kind = ErrorKind.NOT_FOUND
    code = "resource_missing"


class Conflict(AppError):
    kind = ErrorKind.CONFLICT
    code = "conflict"


class InvalidRequest(AppError):
    kind = ErrorKind.INVALID
    code = "invalid_request"


class Unauthenticated(AppError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "unauthenticated"


class Forbidden(AppError):
    kind = ErrorKind.FORBIDDEN
    code = "forbidden"


class Unavailable(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "service_unavailable"


class RateLimited(AppError):
    """Too many requests from one caller; `retry_after` is how many seconds to wait."""

    kind = ErrorKind.RATE_LIMITED
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.retry_after = retry_after


class InternalError(AppError):
    kind = ErrorKind.INTERNAL
    code = "internal_error"
