"""``/v1/customers``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.customer import service
from cyphera.customer.schemas import Customer, CustomerCreate, CustomerListParams, CustomerUpdate
from cyphera.kit.pagination import ListObject

router = APIRouter(tags=["Customers"])

CUSTOMERS = "/v1/customers"


@router.post(
    CUSTOMERS,
    summary="Create a customer",
    description="One customer per wallet address in a workspace and mode: creating a second one "
    "for the same address is `409 customer_exists`. Checkout creates customers on its own the "
    "first time a wallet subscribes.",
    responses={
        409: {
            "description": "A customer with this address already exists (`customer_exists`), "
            "or a request with the same Idempotency-Key is in progress.",
            "content": {
                "application/json": {
                    "example": {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "customer_exists",
                            "message": "A customer with address "
                            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed already exists: "
                            "cus_NffrFeUfNV2Hib4mQ8kPz3Rs",
                            "param": "address",
                        }
                    }
                }
            },
        }
    },
)
async def create_customer(
    body: CustomerCreate, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> Customer:
    customer = await service.create_customer(session, scope=auth.scope, data=body, clock=clock)
    return Customer.from_model(customer)


@router.get(CUSTOMERS, summary="List customers")
async def list_customers(
    params: Annotated[CustomerListParams, Query()], auth: AuthDep, session: SessionDep
) -> ListObject[Customer]:
    page = await service.list_customers(
        session,
        scope=auth.scope,
        page=params.page_request(),
        address=params.address,
        email=params.email,
    )
    return ListObject[Customer](
        data=[Customer.from_model(c) for c in page.items], has_more=page.has_more, url=CUSTOMERS
    )


@router.get(CUSTOMERS + "/{customer_id}", summary="Retrieve a customer")
async def get_customer(customer_id: str, auth: AuthDep, session: SessionDep) -> Customer:
    customer = await service.get_customer(session, scope=auth.scope, customer_id=customer_id)
    return Customer.from_model(customer)


@router.post(
    CUSTOMERS + "/{customer_id}",
    summary="Update a customer",
    description='Changes `email` and `metadata` (merged; `""` removes a key). The address is '
    "the wallet the customer's permissions come from and cannot change.",
)
async def update_customer(
    customer_id: str,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[CustomerUpdate | None, Body()] = None,
) -> Customer:
    customer = await service.update_customer(
        session,
        scope=auth.scope,
        customer_id=customer_id,
        data=body or CustomerUpdate(),
        clock=clock,
    )
    return Customer.from_model(customer)
