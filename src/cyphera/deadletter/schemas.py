"""Bodies of the admin API's ``/v1/admin/dead_letters``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from cyphera.kit.clock import to_unix
from cyphera.kit.text import StorableStr
from cyphera.models import DeadLetter as DeadLetterModel
from cyphera.models.dead_letter import DeadLetterStatus
from cyphera.models.mixins import Mode

MAX_REASON_LENGTH = 500


class DeadLetterError(BaseModel):
    type: str = Field(description="The exception's class, with its module.")
    message: str


class DeadLetter(BaseModel):
    """A job that failed for good: what ran, with what, how often, and how it ended."""

    id: str
    object: Literal["dead_letter"] = "dead_letter"
    task: str
    job_id: int = Field(description="The last failed job's id in procrastinate_jobs.")
    queue: str
    args: dict[str, Any]
    periodic: bool
    attempts: int
    error: DeadLetterError
    traceback: str | None = Field(description="The last attempt's; retrieved one at a time only.")
    workspace_id: str | None = Field(description="The tenant the arguments name, when known.")
    livemode: bool | None
    status: DeadLetterStatus
    first_failed: int
    last_failed: int
    created: int
    resolved: int | None
    resolved_by: str | None
    reason: str | None = Field(description="Why it was discarded.")
    retry_job_id: int | None

    @classmethod
    def from_model(cls, model: DeadLetterModel, *, with_traceback: bool = True) -> DeadLetter:
        return cls(
            id=model.id,
            task=model.task_name,
            job_id=model.job_id,
            queue=model.queue,
            args=model.args,
            periodic=model.periodic,
            attempts=model.attempts,
            error=DeadLetterError(type=model.error_type, message=model.error_message),
            traceback=model.traceback if with_traceback else None,
            workspace_id=model.workspace_id,
            livemode=None if model.mode is None else model.mode is Mode.LIVE,
            status=model.status,
            first_failed=to_unix(model.first_failed_at),
            last_failed=to_unix(model.last_failed_at),
            created=to_unix(model.created_at),
            resolved=None if model.resolved_at is None else to_unix(model.resolved_at),
            resolved_by=model.resolved_by,
            reason=model.resolution_note,
            retry_job_id=model.retry_job_id,
        )


class DeadLetterListParams(BaseModel):
    status: DeadLetterStatus | None = None
    limit: int = Field(default=20, ge=1, le=100)


class DeadLetterDiscard(BaseModel):
    reason: Annotated[StorableStr, StringConstraints(min_length=1, max_length=MAX_REASON_LENGTH)]
