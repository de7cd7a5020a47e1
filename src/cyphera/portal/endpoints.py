"""``/v1/billing_portal``: portal links for a customer, and how the portal lets them cancel."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.kit.hosted import hosted_secret
from cyphera.models import Workspace
from cyphera.portal import sessions
from cyphera.portal.schemas import (
    BillingPortalSession,
    BillingPortalSessionCreate,
    PortalCancelSettings,
    PortalConfiguration,
    PortalConfigurationUpdate,
)

router = APIRouter(tags=["Customer portal"])

SESSIONS = "/v1/billing_portal/sessions"
CONFIGURATION = "/v1/billing_portal/configuration"


@router.post(
    SESSIONS,
    summary="Create a customer portal link",
    description="A URL that opens the customer portal for one customer: their subscriptions "
    "with this workspace, invoices, payments, cancel, and revoking the permission on chain. "
    "Valid for 15 minutes; make one each time the customer asks for it.",
)
async def create_billing_portal_session(
    body: BillingPortalSessionCreate,
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
) -> BillingPortalSession:
    link = await sessions.create_link(
        session,
        scope=auth.scope,
        customer_id=body.customer,
        return_url=body.return_url,
        now=clock.now(),
    )
    settings = request.app.state.settings
    url = sessions.link_url(
        settings.api.public_url, link.id, secret=hosted_secret(environment=settings.environment)
    )
    return BillingPortalSession.from_model(link, url=url)


@router.get(CONFIGURATION, summary="Retrieve the portal's configuration")
async def get_portal_configuration(auth: AuthDep, session: SessionDep) -> PortalConfiguration:
    workspace = await session.get_one(Workspace, auth.scope.workspace_id)
    return PortalConfiguration(
        subscription_cancel=PortalCancelSettings(mode=workspace.portal_cancel_mode)
    )


@router.post(
    CONFIGURATION,
    summary="Update the portal's configuration",
    description="Applies to both modes of the workspace.",
)
async def update_portal_configuration(
    body: PortalConfigurationUpdate, auth: AuthDep, session: SessionDep
) -> PortalConfiguration:
    workspace = await session.get_one(Workspace, auth.scope.workspace_id, with_for_update=True)
    workspace.portal_cancel_mode = body.subscription_cancel.mode
    return PortalConfiguration(
        subscription_cancel=PortalCancelSettings(mode=workspace.portal_cancel_mode)
    )
