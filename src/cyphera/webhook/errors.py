"""Errors of webhook endpoints. Each has a stable ``code``; the request field at fault is ``param``."""

from __future__ import annotations

from cyphera.exceptions import InvalidRequest, NotFound


class WebhookError(InvalidRequest):
    """Base of the webhook endpoints' request errors."""


class UrlInvalid(WebhookError):
    """Not an absolute http(s) URL with a host, or too long."""

    code = "url_invalid"


class UrlNotAllowed(WebhookError):
    """A well-formed URL we will not deliver to (plain http, credentials or a private host in live)."""

    code = "url_not_allowed"


class EventTypeInvalid(WebhookError):
    code = "invalid_event_type"


class WebhookEndpointLimit(WebhookError):
    code = "webhook_endpoint_limit"


class WebhookEndpointMissing(NotFound):
    code = "resource_missing"
