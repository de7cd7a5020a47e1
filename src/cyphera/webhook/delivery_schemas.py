"""Bodies of the deliveries API: a delivery with its latest attempt, or with all of them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from cyphera import models
from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel
from cyphera.kit.text import StorableStr
from cyphera.models.mixins import Mode
from cyphera.models.webhook_delivery import WebhookDeliveryStatus

_ATTEMPT_EXAMPLE: JsonDict = {
    "number": 2,
    "created": 1767225610,
    "duration_ms": 184,
    "succeeded": False,
    "response_status": 503,
    "response_body": "upstream unavailable",
    "error": "answered 503",
}
_DELIVERY_EXAMPLE: JsonDict = {
    "id": "msg_2Pq7nD0aZcV4kWb9sLx1Hf3T",
    "object": "webhook_delivery",
    "created": 1767225600,
    "event": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
    "event_type": "invoice.paid",
    "livemode": False,
    "attempt_count": 2,
    "last_attempt": _ATTEMPT_EXAMPLE,
    "next_attempt": 1767225700,
    "status": "pending",
    "webhook_endpoint": "we_1Mr5jULkdIwHu7ixB7j2xyUz",
}


class WebhookAttempt(BaseModel):
    """One POST of a delivery: the receiver's answer (its first 2,000 characters), or why none."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ATTEMPT_EXAMPLE]})

    number: int = Field(description="1 for the first attempt, counting every retry.")
    created: int = Field(description="Unix time (seconds) the attempt started.")
    duration_ms: int
    succeeded: bool = Field(description="The receiver answered 2xx.")
    response_status: int | None = Field(description="The HTTP status, if an answer came.")
    response_body: str | None
    error: str | None = Field(
        description="Why it failed: `answered 500`, `redirect not followed`, `no answer within "
        "10 s`, `could not connect: …`, `refused to connect: … is not a public address`."
    )

    @classmethod
    def from_model(cls, attempt: models.WebhookDeliveryAttempt) -> WebhookAttempt:
        return cls(
            number=attempt.number,
            created=to_unix(attempt.started_at),
            duration_ms=attempt.duration_ms,
            succeeded=attempt.succeeded,
            response_status=attempt.response_status,
            response_body=attempt.response_body,
            error=attempt.error,
        )


class WebhookDelivery(BaseModel):
    """An event sent to an endpoint: its id is the `webhook-id` header of every attempt."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DELIVERY_EXAMPLE]})

    id: str
    object: Literal["webhook_delivery"] = "webhook_delivery"
    created: int
    event: str = Field(description="The event sent (`evt_…`).")
    event_type: str
    livemode: bool
    attempt_count: int
    last_attempt: WebhookAttempt | None = Field(description="`null` before the first attempt.")
    next_attempt: int | None = Field(
        description="When (Unix time) it is tried next; `null` once it succeeded or failed."
    )
    status: Literal["pending", "succeeded", "failed"] = Field(
        description="`pending` until an attempt succeeds; `failed` after three days of failed "
        "attempts (or when its endpoint was disabled). A retry makes it `pending` again."
    )
    webhook_endpoint: str

    @classmethod
    def from_model(
        cls,
        delivery: models.WebhookDelivery,
        *,
        event_type: str,
        last_attempt: models.WebhookDeliveryAttempt | None,
    ) -> WebhookDelivery:
        upcoming = delivery.next_attempt_at
        return cls(
            id=delivery.id,
            created=to_unix(delivery.created_at),
            event=delivery.event_id,
            event_type=event_type,
            livemode=delivery.mode is Mode.LIVE,
            attempt_count=delivery.attempt_count,
            last_attempt=WebhookAttempt.from_model(last_attempt) if last_attempt else None,
            next_attempt=to_unix(upcoming) if upcoming is not None else None,
            status=delivery.status.value,
            webhook_endpoint=delivery.endpoint_id,
        )


class WebhookDeliveryWithAttempts(WebhookDelivery):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _DELIVERY_EXAMPLE
                | {"attempts": [_ATTEMPT_EXAMPLE, _ATTEMPT_EXAMPLE | {"number": 1}]}
            ]
        }
    )

    attempts: list[WebhookAttempt] = Field(description="Every attempt, newest first (at most 100).")


class DeliveryListParams(ListParams):
    status: WebhookDeliveryStatus | None = Field(
        default=None, description="Only deliveries in this status."
    )


class EventResend(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"webhook_endpoint": "we_1Mr5…"}]})

    webhook_endpoint: Annotated[StorableStr, StringConstraints(max_length=100)] | None = Field(
        default=None,
        description="Send to this endpoint only; by default to every enabled endpoint that "
        "subscribes to the event's type.",
    )
