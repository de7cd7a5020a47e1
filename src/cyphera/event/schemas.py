"""Response bodies of ``/v1/events`` (Stripe's shape)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListParams
from cyphera.kit.text import StorableStr
from cyphera.models import Event as EventModel
from cyphera.models.mixins import Mode

# Unix seconds of 9999-12-31T23:59:59Z: beyond it a timestamp is not a date Python can hold.
MAX_TIMESTAMP = 253_402_300_799
Timestamp = Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)]

_EVENT_EXAMPLE: JsonDict = {
    "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
    "object": "event",
    "created": 1767225600,
    "data": {
        "object_id": "cus_NffrFeUfNV2Hib4mQ8kPz3Rs",
        "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "email": "jenny.rosen@example.com",
        "metadata": {},
    },
    "livemode": False,
    "type": "customer.created",
}


class Event(BaseModel):
    """Something that happened: every state change writes one, in the same transaction."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT_EXAMPLE]})

    id: str
    object: Literal["event"] = "event"
    created: int = Field(description="Unix time (seconds) the change was committed.")
    data: dict[str, Any] = Field(
        description="`object_id` is the object the event is about (`cus_…`, `sub_…`, `in_…`, "
        "…); the other keys depend on the type and describe the change."
    )
    livemode: bool
    type: str = Field(
        description="`customer.created`, `subscription.updated`, `invoice.paid`, "
        "`payment.failed`, `permission.granted`, …"
    )

    @classmethod
    def from_model(cls, event: EventModel) -> Event:
        return cls(
            id=event.id,
            created=to_unix(event.created_at),
            data={**event.data, "object_id": event.object_id},
            livemode=event.mode is Mode.LIVE,
            type=event.type,
        )


class EventListParams(ListParams):
    type: Annotated[StorableStr, StringConstraints(min_length=1, max_length=80)] | None = Field(
        default=None,
        description="Only events of this type; a trailing `.*` matches a group (`invoice.*`).",
    )
    created_gt: Timestamp | None = Field(
        default=None, alias="created[gt]", description="Only events created after this Unix time."
    )
    created_gte: Timestamp | None = Field(
        default=None, alias="created[gte]", description="Only events created at or after it."
    )
    created_lt: Timestamp | None = Field(
        default=None, alias="created[lt]", description="Only events created before it."
    )
    created_lte: Timestamp | None = Field(
        default=None, alias="created[lte]", description="Only events created at or before it."
    )
