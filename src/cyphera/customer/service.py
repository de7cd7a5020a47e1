"""Customers: payers identified by their wallet address, one per (workspace, mode, address)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.event import service as events
from cyphera.kit.ids import new_id
from cyphera.models import Customer
from cyphera.models.mixins import Mode


async def get_or_create_by_address(
    session: AsyncSession, *, workspace_id: str, mode: Mode, address: str
) -> Customer:
    """The customer paying from `address` (checksummed), created on first sight."""
    customer_id = new_id("cus")
    inserted = (
        await session.execute(
            insert(Customer)
            .values(
                id=customer_id, workspace_id=workspace_id, mode=mode, address=address, metadata={}
            )
            .on_conflict_do_nothing(index_elements=["workspace_id", "mode", "address"])
            .returning(Customer.id)
        )
    ).scalar_one_or_none()
    customer = (
        await session.execute(
            select(Customer).where(
                Customer.workspace_id == workspace_id,
                Customer.mode == mode,
                Customer.address == address,
            )
        )
    ).scalar_one()
    if inserted is not None:
        await events.record(
            session,
            workspace_id=workspace_id,
            mode=mode,
            type="customer.created",
            object_id=customer.id,
            data={"address": address},
        )
    return customer
