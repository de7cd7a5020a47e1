"""Cursor pagination, as Stripe does it: ``limit``, ``starting_after``, ``ending_before``, ``has_more``.

Lists are ordered newest first by ``(created_at, id)``. The pair is unique (ids are), so the order is
total and stable: paging with ``starting_after=<last id of a page>`` continues exactly after that
object, and ``ending_before=<first id of a page>`` returns the page just before it, with no duplicate
and no gap even while new objects are being created (they appear only at the front).

A cursor is an object id, looked up with the caller's own scope (`paginate`'s `cursor_query`), so an
id of another tenant is "no such object" rather than a way to probe the order of someone else's data.
The cursor is looked up *without* the list's filters: an object that stopped matching a filter
between two pages (a product archived meanwhile) still works as a cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from cyphera.exceptions import InvalidRequest, NotFound
from cyphera.kit.text import StorableStr

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# Cursors are object ids: prefix, underscore, base62. Anything longer is not one of ours.
MAX_CURSOR_LENGTH = 100

T = TypeVar("T")


class ListParams(BaseModel):
    """The query parameters every list endpoint accepts; subclass it to add filters.

    Unknown query parameters are refused (``extra="forbid"``) so a misspelt filter is an error
    rather than a silently unfiltered list.
    """

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        le=MAX_LIMIT,
        description=f"How many objects to return, 1 to {MAX_LIMIT}.",
    )
    starting_after: StorableStr | None = Field(
        default=None,
        max_length=MAX_CURSOR_LENGTH,
        description="An object id: return the objects listed after it (older ones).",
    )
    ending_before: StorableStr | None = Field(
        default=None,
        max_length=MAX_CURSOR_LENGTH,
        description="An object id: return the objects listed before it (newer ones).",
    )

    def page_request(self) -> PageRequest:
        return PageRequest(
            limit=self.limit, starting_after=self.starting_after, ending_before=self.ending_before
        )


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page to read. At most one of the two cursors may be given."""

    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidRequest(
                f"limit must be between 1 and {MAX_LIMIT}", code="parameter_invalid", param="limit"
            )
        if self.starting_after is not None and self.ending_before is not None:
            raise InvalidRequest(
                "give starting_after or ending_before, not both",
                code="parameter_invalid",
                param="ending_before",
            )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page: `items` newest first, and whether more exist in the direction of travel."""

    items: list[T]
    has_more: bool


async def paginate(
    session: AsyncSession,
    statement: Select[T],
    *,
    order: tuple[QueryableAttribute[Any], QueryableAttribute[Any]],
    page: PageRequest,
    cursor_query: Select[Any, Any],
    id_column: QueryableAttribute[str] | None = None,
) -> Page[T]:
    """Run `statement` (already scoped and filtered) for one page of `page`.

    `order` is the model's ``(created_at, id)`` columns, or another pair that orders it totally
    (events use their ``(sequence, id)``). `cursor_query` selects those two within the caller's
    scope, unfiltered; the cursor object is found by `id_column` (by default the second of
    `order`), and a cursor it cannot find is a `NotFound` naming its parameter.
    """
    first, second = order
    if id_column is None:
        id_column = second
    key = tuple_(first, second)
    if page.starting_after is not None:
        cursor = await _cursor(
            session, cursor_query, id_column, page.starting_after, "starting_after"
        )
        statement = statement.where(key < tuple_(*cursor)).order_by(first.desc(), second.desc())
    elif page.ending_before is not None:
        cursor = await _cursor(
            session, cursor_query, id_column, page.ending_before, "ending_before"
        )
        # Walk towards newer objects from the cursor, then flip the page back to newest first.
        statement = statement.where(key > tuple_(*cursor)).order_by(first.asc(), second.asc())
    else:
        statement = statement.order_by(first.desc(), second.desc())
    rows = list((await session.scalars(statement.limit(page.limit + 1))).all())
    has_more = len(rows) > page.limit
    items = rows[: page.limit]
    if page.ending_before is not None:
        items.reverse()
    return Page(items=items, has_more=has_more)


async def _cursor(
    session: AsyncSession,
    cursor_query: Select[Any, Any],
    id_column: QueryableAttribute[str],
    object_id: str,
    param: str,
) -> tuple[Any, ...]:
    if not _looks_like_id(object_id):
        raise NotFound(f"No such object: {object_id!r}", param=param)
    row = (await session.execute(cursor_query.where(id_column == object_id))).first()
    if row is None:
        raise NotFound(f"No such object: {object_id!r}", param=param)
    return tuple(row)


def _looks_like_id(value: str) -> bool:
    head, sep, tail = value.partition("_")
    return bool(sep) and head.isascii() and head.isalnum() and tail.isascii() and tail.isalnum()


class ListObject(BaseModel, Generic[T]):
    """The envelope of every list response (Stripe's ``"object": "list"``)."""

    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool = Field(description="Whether more objects exist beyond this page.")
    url: str = Field(description="The path this list was read from.")
