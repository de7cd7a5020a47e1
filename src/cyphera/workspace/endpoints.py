"""``/v1/payout_addresses``: where the workspace is paid, one address per network and mode.

The network key is the identifier (``/v1/payout_addresses/base``): a workspace has at most one
payout address per network, so "set" creates or replaces it, Stripe-style with a POST.
"""

from __future__ import annotations

from fastapi import APIRouter, Path

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.kit.pagination import ListObject
from cyphera.workspace import service
from cyphera.workspace.schemas import PayoutAddress, PayoutAddressSet

router = APIRouter(tags=["Payout addresses"])

PAYOUT_ADDRESSES = "/v1/payout_addresses"
NetworkPath = Path(description="Network key: ethereum, base, base-sepolia, local, …", max_length=40)


@router.get(PAYOUT_ADDRESSES, summary="List payout addresses")
async def list_payout_addresses(auth: AuthDep, session: SessionDep) -> ListObject[PayoutAddress]:
    payouts = await service.list_payout_addresses(session, scope=auth.scope)
    return ListObject[PayoutAddress](
        data=[PayoutAddress.from_model(p) for p in payouts], has_more=False, url=PAYOUT_ADDRESSES
    )


@router.get(PAYOUT_ADDRESSES + "/{network}", summary="Retrieve the payout address of a network")
async def get_payout_address(
    auth: AuthDep, session: SessionDep, network: str = NetworkPath
) -> PayoutAddress:
    payout = await service.get_payout_address(session, scope=auth.scope, network=network)
    return PayoutAddress.from_model(payout)


@router.post(
    PAYOUT_ADDRESSES + "/{network}",
    summary="Set the payout address of a network",
    description="Creates or replaces the address. Permissions already granted keep paying the "
    "address they were granted with (the payee is locked on-chain); new ones use this one.",
)
async def set_payout_address(
    body: PayoutAddressSet,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    network: str = NetworkPath,
) -> PayoutAddress:
    payout = await service.set_payout_address(
        session, scope=auth.scope, network=network, address=body.address, clock=clock
    )
    return PayoutAddress.from_model(payout)
