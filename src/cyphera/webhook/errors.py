"""Errors of webhook endpoints. Each has a stable ``code``; the request field at fault is ``param``."""

from __future__ import annotations

from cyphera.exceptions import Conflict, InvalidRequest, NotFound


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


class DeliveryInProgress(Conflict):
    """The delivery is being sent right now; retry once this attempt is recorded."""

    code = "webhook_delivery_in_progress"


class EndpointDisabled(Conflict):
    """The endpoint is disabled: re-enable it (``disabled: false``) before sending to it."""

    code = "webhook_endpoint_disabled"


class EventNotEnabled(WebhookError):
    """The endpoint does not subscribe to the event's type."""

    code = "event_not_enabled"
