"""Request and response bodies of ``/v1/webhook_endpoints`` (Stripe's shapes).

The signing secret is a field of `WebhookEndpointWithSecret` only, the answer to creating an
endpoint and to rotating its secret; every other answer is a `WebhookEndpoint`, which has no such
field at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.config import JsonDict

from cyphera import models
from cyphera.kit.clock import to_unix
from cyphera.kit.metadata import Metadata
from cyphera.kit.schema import RequestModel, refuse_null
from cyphera.kit.text import StorableStr
from cyphera.models.mixins import Mode

MAX_DESCRIPTION_LENGTH = 5000
MAX_ENABLED_EVENTS = 64
# The request bound only: `cyphera.webhook.urls` refuses anything past 2048 with `url_invalid`.
MAX_URL_REQUEST_LENGTH = 4096
MAX_SECRET_OVERLAP = timedelta(days=7)
DEFAULT_SECRET_OVERLAP = timedelta(hours=24)

Url = Annotated[StorableStr, StringConstraints(min_length=1, max_length=MAX_URL_REQUEST_LENGTH)]
EventType = Annotated[StorableStr, StringConstraints(min_length=1, max_length=100)]
EnabledEvents = Annotated[list[EventType], Field(min_length=1, max_length=MAX_ENABLED_EVENTS)]
Description = Annotated[StorableStr, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH)]

_URL_DOC = (
    "Where events are sent: an absolute https URL of at most 2048 characters, with no "
    "credentials and no private or local host. Test mode also allows http and localhost."
)
_EVENTS_DOC = 'Event types to send (see docs/webhooks.md), or `["*"]` for all of them.'
_ENDPOINT_EXAMPLE: JsonDict = {
    "id": "we_1Mr5jULkdIwHu7ixB7j2xyUz",
    "object": "webhook_endpoint",
    "created": 1767225600,
    "description": "Order fulfilment",
    "enabled_events": ["invoice.paid", "subscription.canceled"],
    "livemode": False,
    "metadata": {"team": "billing"},
    "previous_secret_expires": None,
    "status": "enabled",
    "url": "https://example.com/cyphera/webhooks",
}


class WebhookEndpoint(BaseModel):
    """Where a workspace's events are sent. The signing secret is never part of it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ENDPOINT_EXAMPLE]})

    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    created: int = Field(description="Unix time (seconds) of creation.")
    description: str | None
    enabled_events: list[str]
    livemode: bool
    metadata: dict[str, str]
    previous_secret_expires: int | None = Field(
        description="After a rotation: until when (Unix time) the previous secret also signs."
    )
    status: Literal["enabled", "disabled"]
    url: str

    @classmethod
    def fields_of(cls, endpoint: models.WebhookEndpoint) -> dict[str, Any]:
        expires = endpoint.previous_secret_expires_at
        return {
            "id": endpoint.id,
            "created": to_unix(endpoint.created_at),
            "description": endpoint.description,
            "enabled_events": list(endpoint.enabled_events),
            "livemode": endpoint.mode is Mode.LIVE,
            "metadata": dict(endpoint.metadata_),
            "previous_secret_expires": to_unix(expires) if expires is not None else None,
            "status": endpoint.status.value,
            "url": endpoint.url,
        }

    @classmethod
    def from_model(cls, endpoint: models.WebhookEndpoint) -> WebhookEndpoint:
        return cls.model_validate(cls.fields_of(endpoint))


class WebhookEndpointWithSecret(WebhookEndpoint):
    """A webhook endpoint with its signing secret: only ever the answer to a create or a rotation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _ENDPOINT_EXAMPLE | {"secret": "whsec_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYn"}
            ]
        }
    )

    secret: str = Field(
        description="The signing secret (`whsec_…`). Shown this once: store it in your secrets store."
    )

    @classmethod
    def with_secret(
        cls, endpoint: models.WebhookEndpoint, secret: str
    ) -> WebhookEndpointWithSecret:
        return cls.model_validate(cls.fields_of(endpoint) | {"secret": secret})


class WebhookEndpointCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.com/cyphera/webhooks",
                    "enabled_events": ["invoice.paid", "subscription.canceled"],
                    "description": "Order fulfilment",
                    "metadata": {"team": "billing"},
                }
            ]
        }
    )

    url: Url = Field(description=_URL_DOC)
    enabled_events: EnabledEvents = Field(description=_EVENTS_DOC)
    description: Description | None = None
    metadata: Metadata = Field(default_factory=dict)


class WebhookEndpointUpdate(RequestModel):
    """Only the parameters given change; ``metadata`` is merged (``""`` removes a key)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"disabled": True}, {"enabled_events": ["*"]}],
        }
    )

    url: Url | None = Field(default=None, description=_URL_DOC)
    enabled_events: EnabledEvents | None = Field(default=None, description=_EVENTS_DOC)
    description: Description | None = Field(default=None, description="`null` clears it.")
    metadata: Metadata | None = None
    disabled: bool | None = Field(
        default=None, description="`true` stops deliveries to the endpoint; `false` resumes them."
    )

    _not_null = field_validator("url", "enabled_events", "metadata", "disabled", mode="before")(
        refuse_null
    )


class WebhookSecretRotation(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"expires_in_seconds": 3600}]})

    expires_in_seconds: Annotated[int, Field(ge=0, le=int(MAX_SECRET_OVERLAP.total_seconds()))] = (
        Field(
            default=int(DEFAULT_SECRET_OVERLAP.total_seconds()),
            description="How long the previous secret keeps signing alongside the new one "
            "(0 to 7 days; 24 hours by default). 0 retires it at once.",
        )
    )


class WebhookEndpointDeleted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "we_1Mr5jULkdIwHu7ixB7j2xyUz", "object": "webhook_endpoint", "deleted": True}
            ]
        }
    )

    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    deleted: Literal[True] = True
