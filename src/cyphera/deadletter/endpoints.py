"""``/v1/admin/dead_letters``: the operators' API, behind the operator token, not a workspace key.

The token is ``CYPHERA_ADMIN_TOKEN``, sent as ``Authorization: Bearer <token>`` and compared in
constant time. Without one configured the admin API does not exist (``404 admin_api_disabled``);
no token is ``401 admin_token_missing``, a wrong one ``403 admin_token_invalid``. Workspace keys
and sessions are never accepted here. The optional ``Cyphera-Operator`` header names the person
acting (the audit log's actor, ``admin_api`` when absent). Retries and discards are audited by
the API's transaction boundary, as every write of the API is (`cyphera.auth.audit`). Not in the
public OpenAPI document: integrators have no use for it.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from cyphera.auth.audit import request_audit
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.deadletter import service
from cyphera.deadletter.errors import (
    AdminApiDisabled,
    AdminTokenInvalid,
    AdminTokenMissing,
)
from cyphera.deadletter.schemas import DeadLetter, DeadLetterDiscard, DeadLetterListParams
from cyphera.kit.pagination import ListObject
from cyphera.models.audit_entry import ActorType
from cyphera.models.dead_letter import DeadLetter as DeadLetterModel

DEAD_LETTERS = "/v1/admin/dead_letters"
OPERATOR_HEADER = "Cyphera-Operator"
DEFAULT_OPERATOR = "admin_api"

router = APIRouter(tags=["Admin"], include_in_schema=False)


def operator(request: Request) -> str:
    """The acting operator's name, once the operator token is checked; audited as theirs."""
    expected = request.app.state.settings.admin_token
    if expected is None:
        raise AdminApiDisabled("The admin API is off: set CYPHERA_ADMIN_TOKEN to turn it on.")
    scheme, _, presented = (request.headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise AdminTokenMissing("Send the operator token as `Authorization: Bearer <token>`.")
    if not hmac.compare_digest(presented.strip().encode(), expected.get_secret_value().encode()):
        raise AdminTokenInvalid("That is not the operator token.")
    name = service.operator_name(
        request.headers.get(OPERATOR_HEADER, "").strip() or DEFAULT_OPERATOR, param=OPERATOR_HEADER
    )
    request_audit(request.scope.setdefault("state", {})).act_as(ActorType.OPERATOR, name)
    return name


OperatorDep = Annotated[str, Depends(operator)]


@router.get(DEAD_LETTERS, summary="List dead letters")
async def list_dead_letters(
    params: Annotated[DeadLetterListParams, Query()], _: OperatorDep, session: SessionDep
) -> ListObject[DeadLetter]:
    found = await service.list_dead_letters(session, status=params.status, limit=params.limit + 1)
    return ListObject[DeadLetter](
        data=[DeadLetter.from_model(d, with_traceback=False) for d in found[: params.limit]],
        has_more=len(found) > params.limit,
        url=DEAD_LETTERS,
    )


@router.get(DEAD_LETTERS + "/{dead_letter_id}", summary="Retrieve a dead letter")
async def get_dead_letter(dead_letter_id: str, _: OperatorDep, session: SessionDep) -> DeadLetter:
    return DeadLetter.from_model(await service.get(session, dead_letter_id))


@router.post(DEAD_LETTERS + "/{dead_letter_id}/retry", summary="Run a dead letter's job again")
async def retry_dead_letter(
    dead_letter_id: str, request: Request, name: OperatorDep, session: SessionDep, clock: ClockDep
) -> DeadLetter:
    retried = await service.retry(session, dead_letter_id, operator=name, clock=clock)
    return _audited(request, retried)


@router.post(DEAD_LETTERS + "/{dead_letter_id}/discard", summary="Close a dead letter unrun")
async def discard_dead_letter(
    dead_letter_id: str,
    body: DeadLetterDiscard,
    request: Request,
    name: OperatorDep,
    session: SessionDep,
    clock: ClockDep,
) -> DeadLetter:
    discarded = await service.discard(
        session, dead_letter_id, operator=name, reason=body.reason, clock=clock
    )
    return _audited(request, discarded)


def _audited(request: Request, dead_letter: DeadLetterModel) -> DeadLetter:
    request_audit(request.scope.setdefault("state", {})).describe(
        service.audit_action(dead_letter),
        object_type="dead_letter",
        object_id=dead_letter.id,
        details=service.audit_details(dead_letter),
    )
    return DeadLetter.from_model(dead_letter)
