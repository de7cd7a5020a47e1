"""What a price change's checkout (purpose ``subscription_update``) charges and how it is doing.

Such a session asks the customer for a larger permission a pending price change waits for
(`cyphera.subscription.pending`). It never has a first charge: approving applies the change, and
the amount due now is the change's own (``always_invoice``: the net proration, collected at
once under the new permission; otherwise nothing now). `charge_shown` says that amount the way
`service.first_charge` says a new subscription's, by the same planner the API's preview uses,
at the session's time (display only; the change itself is planned again when it is applied).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope
from cyphera.checkout import service
from cyphera.kit.clock import Clock
from cyphera.models import CheckoutSession, Subscription
from cyphera.models.checkout_session import CheckoutSessionPurpose
from cyphera.subscription.changes import preview_change
from cyphera.subscription.proration import ProrationBehavior


def is_update(checkout: CheckoutSession) -> bool:
    return checkout.purpose is CheckoutSessionPurpose.SUBSCRIPTION_UPDATE


async def charge_shown(
    session: AsyncSession, checkout: CheckoutSession, clock: Clock
) -> service.FirstCharge:
    """The session's first charge, or for a price change the amount its approval charges now."""
    if not is_update(checkout) or checkout.subscription_id is None:
        return await service.first_charge(session, checkout, clock)
    subscription = await session.get_one(Subscription, checkout.subscription_id)
    behavior = ProrationBehavior(
        subscription.pending_proration_behavior or ProrationBehavior.CREATE_PRORATIONS.value
    )
    change = await preview_change(
        session,
        scope=Scope(checkout.workspace_id, checkout.mode),
        subscription_id=subscription.id,
        behavior=behavior,
        clock=clock,
        price_id=subscription.pending_price_id or subscription.price_id,
        quantity=subscription.pending_quantity,
    )
    due = max(change.amount_due_now, 0)
    return service.FirstCharge(
        amount_cents=due,
        is_due_now=due > 0,
        at=clock.now().replace(microsecond=0),
        trial_days=None,
        discount=None,
        for_change=True,
    )
