"""What the portal shows and does, always through the viewer's customers (`Viewer.customers`).

- `list_subscriptions` and `find` read a customer's subscriptions with their merchant, price,
  product and permission; `history` their invoices and payments.
- `cancel` is the API's cancel (`cyphera.subscription.actions.cancel`), in the subscription's own
  workspace and mode, as far as the merchant's ``portal_cancel_mode`` allows: at the period's end
  (the default), or also at once.
- `revocation_call` is the transaction the customer's wallet sends to revoke the permission on
  chain; `confirm_revocation` reads the chain, and only when the chain says the delegation is
  disabled records it (`cyphera.subscription.revocation`): the subscription ends now and is
  never charged again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope
from cyphera.chain.rpc import ChainRpc
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix
from cyphera.models import (
    Customer,
    Invoice,
    Payment,
    Permission,
    Price,
    Product,
    Subscription,
    Workspace,
)
from cyphera.models.permission import PermissionStatus
from cyphera.models.portal import PortalCancelMode
from cyphera.permission.revocation import RevocationCall, is_disabled_on_chain, revocation_call
from cyphera.portal.errors import (
    CancelNotAllowed,
    NothingToRevoke,
    PortalSubscriptionMissing,
    RevocationNotOnChain,
)
from cyphera.portal.viewer import Viewer
from cyphera.subscription import actions
from cyphera.subscription.revocation import record_revocation
from cyphera.testclock import clock as test_clocks

MAX_SUBSCRIPTIONS = 200
HISTORY_LIMIT = 24


@dataclass(frozen=True, slots=True)
class PortalSubscription:
    subscription: Subscription
    customer: Customer
    price: Price
    product: Product
    workspace: Workspace
    permission: Permission | None

    @property
    def scope(self) -> Scope:
        return Scope(workspace_id=self.subscription.workspace_id, mode=self.subscription.mode)


@dataclass(frozen=True, slots=True)
class History:
    invoices: Sequence[Invoice]
    payments: Sequence[Payment]


_Row = tuple[Subscription, Customer, Price, Product, Workspace, Permission | None]


def _select(viewer: Viewer) -> Select[*_Row]:
    return (
        select(Subscription, Customer, Price, Product, Workspace, Permission)
        .join(Customer, Customer.id == Subscription.customer_id)
        .join(Price, Price.id == Subscription.price_id)
        .join(Product, Product.id == Price.product_id)
        .join(Workspace, Workspace.id == Subscription.workspace_id)
        .outerjoin(Permission, Permission.id == Subscription.permission_id)
        .where(viewer.customers())
    )


async def list_subscriptions(session: AsyncSession, *, viewer: Viewer) -> list[PortalSubscription]:
    """The viewer's subscriptions, newest first (at most `MAX_SUBSCRIPTIONS`)."""
    rows = await session.execute(
        _select(viewer)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
        .limit(MAX_SUBSCRIPTIONS)
    )
    return [PortalSubscription(*row) for row in rows]


async def find(
    session: AsyncSession, *, viewer: Viewer, subscription_id: str
) -> PortalSubscription:
    """The viewer's subscription `subscription_id`; anyone else's is `PortalSubscriptionMissing`."""
    if not has_prefix(subscription_id, "sub"):
        raise PortalSubscriptionMissing("No such subscription.")
    row = (
        await session.execute(_select(viewer).where(Subscription.id == subscription_id))
    ).one_or_none()
    if row is None:
        raise PortalSubscriptionMissing("No such subscription.")
    return PortalSubscription(*row)


async def history(session: AsyncSession, *, item: PortalSubscription) -> History:
    """The subscription's latest invoices and payments, newest first."""
    invoices = (
        await session.scalars(
            select(Invoice)
            .where(Invoice.subscription_id == item.subscription.id)
            .order_by(Invoice.created_at.desc(), Invoice.id.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    payments = (
        await session.scalars(
            select(Payment)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(Invoice.subscription_id == item.subscription.id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    return History(invoices=invoices, payments=payments)


async def cancel(
    session: AsyncSession,
    *,
    viewer: Viewer,
    subscription_id: str,
    at_period_end: bool,
    clock: Clock,
) -> Subscription:
    item = await find(session, viewer=viewer, subscription_id=subscription_id)
    if not at_period_end and item.workspace.portal_cancel_mode is PortalCancelMode.AT_PERIOD_END:
        raise CancelNotAllowed(
            f"{item.workspace.name} lets subscriptions be canceled at the end of the period."
        )
    return await actions.cancel(
        session,
        scope=item.scope,
        subscription_id=item.subscription.id,
        # At the subscription's own time: its test clock's, if it has one (as the API does).
        clock=await test_clocks.clock_for(session, item.subscription, clock),
        at_period_end=at_period_end,
    )


def _revocable(item: PortalSubscription) -> Permission:
    permission = item.permission
    if permission is None or permission.status is not PermissionStatus.ACTIVE:
        raise NothingToRevoke("This subscription has no active permission to revoke.")
    return permission


async def revocation(
    session: AsyncSession, *, viewer: Viewer, subscription_id: str
) -> RevocationCall:
    """The transaction that revokes the subscription's permission, sent by the customer's wallet."""
    item = await find(session, viewer=viewer, subscription_id=subscription_id)
    return revocation_call(_revocable(item))


async def confirm_revocation(
    session: AsyncSession,
    *,
    viewer: Viewer,
    subscription_id: str,
    rpc: ChainRpc,
    clock: Clock,
) -> Subscription:
    """Record the revocation once the chain shows it; `RevocationNotOnChain` until then."""
    item = await find(session, viewer=viewer, subscription_id=subscription_id)
    if item.permission is not None and item.permission.status is PermissionStatus.REVOKED:
        return item.subscription
    permission = _revocable(item)
    if not await is_disabled_on_chain(rpc, permission):
        raise RevocationNotOnChain(
            "The chain does not show this permission revoked yet; wait for the transaction "
            "to be confirmed."
        )
    await record_revocation(session, permission_id=permission.id, at=clock.now())
    await session.flush()
    return item.subscription
