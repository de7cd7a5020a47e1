"""Reading tenant-owned objects by id and by page: the one pattern every read endpoint shares."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, scoped
from cyphera.exceptions import NotFound
from cyphera.kit.pagination import Page, PageRequest, paginate

M = TypeVar("M")


async def get_scoped(
    session: AsyncSession, model: type[M], object_id: str, scope: Scope, *, param: str = "id"
) -> M:
    """The object `object_id` of `scope`; another tenant's object is `NotFound`, as a missing one."""
    row = (
        await session.execute(scoped(select(model).where(model.id == object_id), scope))  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No such {model.__tablename__[:-1]}: {object_id!r}", param=param)  # type: ignore[attr-defined]
    return row


async def list_scoped(
    session: AsyncSession,
    model: type[M],
    scope: Scope,
    page: PageRequest,
    *filters: Any,
    order: tuple[Any, Any] | None = None,
) -> Page[M]:
    """A page of `model` in `scope`, newest first, with optional extra WHERE clauses.

    Newest by ``(created_at, id)`` unless `order` names another pair that orders it totally.
    """
    object_id = model.id  # type: ignore[attr-defined]
    first, second = order if order is not None else (model.created_at, object_id)  # type: ignore[attr-defined]
    return await paginate(
        session,
        scoped(select(model).where(*filters), scope),
        order=(first, second),
        page=page,
        cursor_query=scoped(select(first, second), scope),
        id_column=object_id,
    )
