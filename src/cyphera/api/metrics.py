"""The API process's metrics and ``GET /metrics``.

- ``cyphera_http_requests_total{method,route,status}`` and
  ``cyphera_http_request_duration_seconds{method,route}``, recorded by `HttpMetricsMiddleware`
  (the outermost layer, so 500s and refusals by the inner layers count too). ``route`` is the
  template the request matched (``/v1/prices/{price_id}``), never the raw path: ids in a label
  would make a new series per object, and put customers' ids into the monitoring system. A
  request no route matched is ``unmatched``; a static mount is its prefix and ``{path}``.
- The counters of the domains that also run here (`cyphera.payment.metrics`: a checkout's first
  charge is collected inline) are in the same registry.

``/metrics`` is not in the OpenAPI document and takes no API key. Operators keep it off the
public internet at the proxy; ``CYPHERA_METRICS__TOKEN``, when set, is also required as
``Authorization: Bearer <token>``. With several uvicorn workers each scrape aggregates them all
(prometheus-client's multiprocess mode, `cyphera.kit.metrics`).
"""

from __future__ import annotations

import hmac
import time

from fastapi import FastAPI, Request
from prometheus_client import Counter, Histogram
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Message, Receive, Scope, Send

from cyphera.api.errors import error_response
from cyphera.api.middleware import HttpMiddleware
from cyphera.kit.metrics import LATENCY_BUCKETS, exposition
from cyphera.payment import metrics as payment_metrics

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter(
    "cyphera_http_requests",
    "HTTP requests answered, by method, matched route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "cyphera_http_request_duration_seconds",
    "Time from a request's arrival to its answer's start, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
# Defined with their domains; listed here so this module names everything the API exposes.
EXPOSED = (HTTP_REQUESTS, HTTP_DURATION, payment_metrics.CHARGES)


def route_template(scope: Scope) -> str:
    """The template of the route the router matched for `scope`, or `UNMATCHED`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if isinstance(route, Mount):
        return path + "/{path}"
    return path


class HttpMetricsMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # an exception that escapes everything is answered 500 by the server

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            method = scope.get("method", "")
            route = route_template(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)


async def metrics(request: Request) -> Response:
    expected = request.app.state.settings.metrics.token
    if expected is not None:
        scheme, _, presented = (request.headers.get("authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected.get_secret_value().encode()
        ):
            return error_response(
                401,
                error_type="authentication_error",
                code="metrics_token_invalid",
                message="Send the metrics token as `Authorization: Bearer <token>`.",
            )
    body, content_type = exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)


def install_metrics(app: FastAPI) -> None:
    """Record every request and serve ``GET /metrics`` (see the module doc)."""
    app.add_middleware(HttpMetricsMiddleware)
    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
