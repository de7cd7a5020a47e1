"""``/v1/events``: the record of every state change, newest first (in the order written)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement

from cyphera.auth.dependencies import AuthDep, SessionDep
from cyphera.auth.resources import get_scoped, list_scoped
from cyphera.event.schemas import MAX_TIMESTAMP, Event, EventListParams
from cyphera.exceptions import NotFound
from cyphera.kit.clock import from_unix
from cyphera.kit.ids import has_prefix
from cyphera.kit.pagination import ListObject
from cyphera.models import Event as EventModel

router = APIRouter(tags=["Events"])

EVENTS = "/v1/events"
EVENT_ID_PREFIX = "evt"
_GROUP_SUFFIX = ".*"


@router.get(EVENTS, summary="List events")
async def list_events(
    params: Annotated[EventListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Event]:
    page = await list_scoped(
        session,
        EventModel,
        auth.scope,
        params.page_request(),
        *_filters(params),
        order=(EventModel.sequence, EventModel.id),
    )
    return ListObject[Event](
        data=[Event.from_model(e) for e in page.items], has_more=page.has_more, url=EVENTS
    )


@router.get(EVENTS + "/{event_id}", summary="Retrieve an event")
async def get_event(event_id: str, auth: AuthDep, session: SessionDep) -> Event:
    if not has_prefix(event_id, EVENT_ID_PREFIX):
        raise NotFound(f"No such event: {event_id!r}", param="id")
    return Event.from_model(await get_scoped(session, EventModel, event_id, auth.scope))


def _filters(params: EventListParams) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if params.type is not None:
        if params.type.endswith(_GROUP_SUFFIX):
            prefix = params.type.removesuffix("*")
            filters.append(EventModel.type.startswith(prefix, autoescape=True))
        else:
            filters.append(EventModel.type == params.type)
    # `created` is shown in whole seconds, so "after second T" means "from second T + 1 on".
    created = EventModel.created_at
    if params.created_gt is not None:
        filters.append(created >= _instant(params.created_gt + 1))
    if params.created_gte is not None:
        filters.append(created >= _instant(params.created_gte))
    if params.created_lt is not None:
        filters.append(created < _instant(params.created_lt))
    if params.created_lte is not None:
        filters.append(created < _instant(params.created_lte + 1))
    return filters


def _instant(seconds: int) -> datetime:
    # Clamped: one second past the largest accepted timestamp is not a `datetime`.
    return from_unix(min(seconds, MAX_TIMESTAMP))
