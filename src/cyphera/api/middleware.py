"""The outer layers of every HTTP request.

`SecurityHeadersMiddleware` (outermost): headers on every answer, errors and 500s included.

- ``X-Content-Type-Options: nosniff`` everywhere: a browser renders nothing as other than its
  declared type (a JSON error echoing input is never sniffed into HTML).
- ``Cache-Control: no-store`` on every ``/v1`` answer: they carry tenant data and secrets shown
  once (a new API key, a webhook signing secret, a session token), which no browser or proxy
  cache may keep.

`RequestContextMiddleware`: the request id, and the last word on failures.

- ``X-Request-Id``: taken from the request when it is a sane token (a load balancer's id), else
  generated (``req_…``); put on every response, bound to every log line of the request.
- An exception nothing else handled is our bug: it is logged with the request id and answered
  with ``500 internal_error`` in the API's error shape, details never sent to the caller. The
  database being unreachable is ``503`` instead: safe to retry.

`BodyGuardMiddleware`: what a request body may be before anything parses it.

- At most `MAX_BODY_BYTES` (``413 body_too_large``), by ``Content-Length`` or as it streams in.
- Nested at most `MAX_NESTING_DEPTH` levels (``400 json_too_deep``), *whatever its
  ``Content-Type``, or none*. This one is a crash guard, not a nicety: ``py_ecc`` (imported
  through eth-account) raises the interpreter's recursion limit to 100,000 at import, so
  ``json.loads`` of a 200 kB ``[[[[…`` overflows the C stack and kills the whole process (SIGSEGV)
  before any ``RecursionError`` can be raised. Every body is measured (`cyphera.kit.nesting`, no
  parser involved) because a label proves nothing: the idempotency fingerprint once parsed
  ``text/plain`` bodies, and ``json.loads`` reads a UTF-16 body that pydantic-core, which the
  guard used to ask, refuses as not JSON. The entry points also put the recursion limit back
  (`cyphera.kit.process`), so a parser that slips past this guard raises instead of crashing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

import structlog
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cyphera.api.errors import INTERNAL_MESSAGE, error_response
from cyphera.kit.ids import new_id
from cyphera.kit.nesting import exceeds_nesting

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_STATE_KEY = "request_id"
MAX_BODY_BYTES = 1024 * 1024
MAX_NESTING_DEPTH = 200
API_PREFIX = "/v1"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

log = structlog.get_logger(__name__)


def request_id_of(scope: Scope) -> str:
    """The id `RequestContextMiddleware` gave this request."""
    return str(scope.get("state", {}).get(REQUEST_ID_STATE_KEY, ""))


class HttpMiddleware:
    """A pure ASGI middleware for HTTP requests: anything else (lifespan) passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class SecurityHeadersMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        is_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if is_api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestContextMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        incoming = headers.get(REQUEST_ID_HEADER)
        request_id = (
            incoming if incoming and _SANE_REQUEST_ID.fullmatch(incoming) else new_id("req")
        )
        scope.setdefault("state", {})[REQUEST_ID_STATE_KEY] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except (OperationalError, PoolTimeoutError) as exc:
                if started:
                    raise
                log.warning("api.database_unavailable", error=type(exc).__name__)
                response = error_response(
                    503,
                    error_type="api_error",
                    code="service_unavailable",
                    message="The database is not answering right now; retry the request shortly.",
                    headers={"Retry-After": "1"},
                )
                await response(scope, receive, send_with_id)
            except Exception:
                log.exception(
                    "api.unhandled_error", method=scope.get("method"), path=scope.get("path")
                )
                if started:
                    raise
                response = error_response(
                    500, error_type="api_error", code="internal_error", message=INTERNAL_MESSAGE
                )
                await response(scope, receive, send_with_id)


class BodyGuardMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _url_is_storable(scope):
            response = error_response(
                400,
                error_type="invalid_request_error",
                code="parameter_invalid",
                message="The URL contains a NUL character or bytes that are not UTF-8; "
                "ids and filters never do.",
            )
            await response(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            await body_too_large()(scope, receive, send)
            return
        try:
            body = await read_body(receive)
        except BodyTooLarge:
            await body_too_large()(scope, receive, send)
            return
        if exceeds_nesting(body, MAX_NESTING_DEPTH):
            response = error_response(
                400,
                error_type="invalid_request_error",
                code="json_too_deep",
                message=f"The request body is nested more than {MAX_NESTING_DEPTH} levels deep.",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, replay_body(body, receive), send)


def _url_is_storable(scope: Scope) -> bool:
    """Whether path and query can reach PostgreSQL as text: no NUL, valid UTF-8 only.

    Caught here once, so no endpoint turns a ``%00`` in an id or a filter into a database error.
    """
    path: str = scope.get("path", "")
    query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
    if "\x00" in path or b"\x00" in query:
        return False
    try:
        path.encode("utf-8")
        query.decode("utf-8")
    except UnicodeError:
        return False
    return True


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive) -> bytes:
    """The whole request body; `BodyTooLarge` past `MAX_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then defers to the real one."""
    delivered = False

    async def replaying() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying


def body_too_large() -> Response:
    return error_response(
        413,
        error_type="invalid_request_error",
        code="body_too_large",
        message=f"The request body is larger than {MAX_BODY_BYTES} bytes.",
    )
