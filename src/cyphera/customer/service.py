"""Customers: payers identified by their wallet address, one per (workspace, mode, address).

Checkout creates customers on first sight of a wallet (`get_or_create_by_address`); merchants can
also create them ahead of time through the API (`create_customer`), with an email and metadata.
The address is the customer's identity (its permissions are granted from it), so it never changes.
"""

from __future__ import annotations

from typing import Any

import structlog
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from cyphera.auth.scope import Scope
from cyphera.customer.errors import AddressInvalid, CustomerExists, CustomerMissing
from cyphera.customer.repository import CustomerRepository
from cyphera.customer.schemas import CustomerCreate, CustomerUpdate
from cyphera.event import service as events
from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.metadata import MetadataTooLarge, merge_metadata
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models import Customer
from cyphera.models.mixins import Mode

CUSTOMER_ID_PREFIX = "cus"
_ZERO_ADDRESS = "0x" + "0" * 40

log = structlog.get_logger(__name__)


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


def normalize_address(address: str, *, param: str = "address") -> str:
    """`address` in EIP-55 checksum form, or `AddressInvalid`.

    All-lower or all-upper hex carries no checksum and is accepted; mixed case must carry a
    correct one (that is how a mistyped character is caught). The zero address is nobody's wallet.
    """
    if not is_hex_address(address):
        raise AddressInvalid(
            f"{address!r} is not an EVM address (0x followed by 40 hex digits)", param=param
        )
    body = address[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(address):
        raise AddressInvalid(
            f"{address!r} has an invalid EIP-55 checksum: check it for a mistyped character",
            param=param,
        )
    if address.lower() == _ZERO_ADDRESS:
        raise AddressInvalid("the zero address is not a customer's wallet", param=param)
    return str(to_checksum_address(address))


async def create_customer(
    session: AsyncSession, *, scope: Scope, data: CustomerCreate, clock: Clock
) -> Customer:
    """Create a customer for a wallet; `CustomerExists` (409) if the wallet already is one."""
    address = normalize_address(data.address)
    metadata = _merged({}, data.metadata)
    repository = CustomerRepository(session)
    customer_id = new_id(CUSTOMER_ID_PREFIX)
    inserted = await repository.insert_unless_address_taken(
        scope,
        customer_id=customer_id,
        address=address,
        email=data.email,
        metadata=metadata,
        at=clock.now(),
    )
    if not inserted:
        existing = await repository.get_by_address(scope, address)
        raise CustomerExists(
            f"A customer with address {address} already exists"
            + (f": {existing.id}" if existing is not None else ""),
            customer_id=existing.id if existing is not None else "",
        )
    customer = await repository.get(scope, customer_id)
    assert customer is not None  # inserted just above, in this transaction
    await events.record(
        session,
        **scope.tenant_columns(),
        type="customer.created",
        object_id=customer.id,
        data=_snapshot(customer),
    )
    log.info("customer.created", customer_id=customer.id, workspace_id=scope.workspace_id)
    return customer


async def get_customer(
    session: AsyncSession,
    *,
    scope: Scope,
    customer_id: str,
    param: str = "id",
    for_update: bool = False,
) -> Customer:
    """The scope's customer `customer_id`, or `CustomerMissing` naming `param`."""
    customer = None
    if has_prefix(customer_id, CUSTOMER_ID_PREFIX):
        customer = await CustomerRepository(session).get(scope, customer_id, for_update=for_update)
    if customer is None:
        raise CustomerMissing(f"No such customer: {customer_id!r}", param=param)
    return customer


async def list_customers(
    session: AsyncSession,
    *,
    scope: Scope,
    page: PageRequest,
    address: str | None = None,
    email: str | None = None,
) -> Page[Customer]:
    """The scope's customers, newest first; `address` may be given in any letter case."""
    if address is not None:
        address = normalize_address(address)
    return await CustomerRepository(session).list(scope, page=page, address=address, email=email)


async def remember_email(
    session: AsyncSession, *, customer: Customer, email: str, clock: Clock
) -> None:
    """Give `customer` the `email` a merchant gave for them (at checkout), unless they already
    have one: an email the merchant set on the customer is never replaced this way."""
    if customer.email is None:
        await update_customer(
            session,
            scope=Scope(customer.workspace_id, customer.mode),
            customer_id=customer.id,
            data=CustomerUpdate(email=email),
            clock=clock,
        )


async def update_customer(
    session: AsyncSession, *, scope: Scope, customer_id: str, data: CustomerUpdate, clock: Clock
) -> Customer:
    """Change the given fields; ``metadata`` is merged. Records ``customer.updated`` if anything
    actually changed, with the old values in ``previous_attributes``."""
    # Locked: two concurrent metadata merges must not lose one another's keys.
    customer = await get_customer(session, scope=scope, customer_id=customer_id, for_update=True)
    previous: dict[str, Any] = {}
    if "email" in data.model_fields_set and data.email != customer.email:
        previous["email"] = customer.email
        customer.email = data.email
    if data.metadata is not None:
        merged = _merged(customer.metadata_, data.metadata)
        if merged != customer.metadata_:
            previous["metadata"] = dict(customer.metadata_)
            customer.metadata_ = merged
    if data.model_fields_set:
        # Flagged even when unchanged (a frozen test clock): an unflagged column would fall back
        # to its ``onupdate=now()`` and take the database's time instead of the clock's.
        customer.updated_at = clock.now()
        flag_modified(customer, "updated_at")
    await session.flush()
    if previous:
        await events.record(
            session,
            **scope.tenant_columns(),
            type="customer.updated",
            object_id=customer.id,
            data={**_snapshot(customer), "previous_attributes": previous},
        )
    return customer


def _snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "address": customer.address,
        "email": customer.email,
        "metadata": dict(customer.metadata_),
    }


def _merged(current: dict[str, Any], update: dict[str, str]) -> dict[str, str]:
    try:
        return merge_metadata(current, update)
    except MetadataTooLarge as exc:
        raise InvalidRequest(str(exc), code="parameter_invalid", param="metadata") from None
