"""``DELETE /v1/subscriptions/{id}/discount``."""

from __future__ import annotations

from fastapi import APIRouter

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.coupon.schemas import DeletedDiscount
from cyphera.subscription import discounts, service
from cyphera.testclock import clock as test_clocks

router = APIRouter()


@router.delete(
    "/v1/subscriptions/{subscription_id}/discount",
    tags=["Subscriptions"],
    summary="Remove a subscription's discount",
    description="The next invoices are charged at the full price. `404 resource_missing` when "
    "the subscription has no discount.",
)
async def delete_subscription_discount(
    subscription_id: str, auth: AuthDep, session: SessionDep, clock: ClockDep
) -> DeletedDiscount:
    subscription = await service.get_subscription(
        session, scope=auth.scope, subscription_id=subscription_id, for_update=True
    )
    at = (
        await test_clocks.clock_for_subscription(session, auth.scope, subscription_id, clock)
    ).now()
    discount = await discounts.remove(session, subscription=subscription, at=at)
    return DeletedDiscount(id=discount.id)
