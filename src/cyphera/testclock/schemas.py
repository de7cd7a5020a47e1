"""Bodies of ``/v1/test_clocks`` (Stripe's shapes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from cyphera.kit.clock import to_unix
from cyphera.kit.metadata import Metadata
from cyphera.kit.schema import RequestModel
from cyphera.kit.text import StorableStr
from cyphera.models import TestClock as TestClockModel

MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant a datetime holds
UnixTime = Annotated[int, Field(ge=0, le=MAX_UNIX_TIME)]
ClockName = Annotated[StorableStr, StringConstraints(max_length=300)]

_EXAMPLE: JsonDict = {
    "id": "clock_NWjs8kKbJWmuuc3kTq2xPfLm",
    "object": "test_clock",
    "created": 1767225600,
    "frozen_time": 1767225600,
    "livemode": False,
    "name": "Annual renewal",
    "status": "ready",
    "metadata": {},
}


class TestClockCreate(RequestModel):
    __test__ = False
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"frozen_time": 1767225600, "name": "Annual renewal"}]}
    )

    frozen_time: UnixTime = Field(
        description="The clock's starting time (Unix seconds): not in the past (the on-chain "
        "windows of a permission start at its start date, and a chain's time only moves forward)."
    )
    name: ClockName | None = None
    metadata: Metadata | None = None


class TestClockAdvance(RequestModel):
    __test__ = False
    model_config = ConfigDict(json_schema_extra={"examples": [{"frozen_time": 1769904000}]})

    frozen_time: UnixTime = Field(
        description="Where to move the clock (Unix seconds): later than its current time and at "
        "most 3 years ahead of it."
    )


class TestClock(BaseModel):
    __test__ = False
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: str
    object: Literal["test_clock"] = "test_clock"
    created: int
    frozen_time: int
    livemode: bool
    name: str | None
    status: Literal["ready", "advancing", "internal_failure"]
    status_details: dict[str, str] = Field(
        default_factory=dict,
        description="While advancing: `advancing.target_frozen_time`; after a failure: `reason`.",
    )
    metadata: dict[str, str]

    @classmethod
    def from_model(cls, clock: TestClockModel) -> TestClock:
        details: dict[str, str] = {}
        if clock.advance_to is not None:
            details["target_frozen_time"] = str(to_unix(clock.advance_to))
        if clock.failure_reason is not None:
            details["reason"] = clock.failure_reason
        return cls(
            id=clock.id,
            created=to_unix(clock.created_at),
            frozen_time=to_unix(clock.frozen_time),
            livemode=False,
            name=clock.name,
            status=clock.status.value,
            status_details=details,
            metadata=dict(clock.metadata_),
        )


class DeletedTestClock(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "clock_NWjs8kKbJWmuuc3kTq2xPfLm", "object": "test_clock", "deleted": True}
            ]
        }
    )

    id: str
    object: Literal["test_clock"] = "test_clock"
    deleted: Literal[True] = True
