"""``/v1/checkout/sessions``: the permission request for a customer, and its completion."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from cyphera.auth.account_dependencies import SignatureCheckerDep
from cyphera.auth.dependencies import AuthDep, ClockDep, SessionDep
from cyphera.checkout import completion, service
from cyphera.checkout.schemas import (
    CheckoutSession,
    CheckoutSessionComplete,
    CheckoutSessionCreate,
    CheckoutSessionPrepare,
    PermissionRequest,
    PermissionTerms,
)
from cyphera.checkout.terms import erc7715_request, signing_request, terms_of
from cyphera.db.engine import transaction
from cyphera.kit.clock import to_unix
from cyphera.kit.hosted import hosted_secret
from cyphera.models import CheckoutSession as CheckoutSessionModel
from cyphera.payment.dependencies import GatewayDep, RegistryDep, SessionmakerDep

router = APIRouter(tags=["Checkout"])
PATH = "/v1/checkout/sessions"


def _permission_request(checkout: CheckoutSessionModel) -> PermissionRequest | None:
    terms = terms_of(checkout)
    if terms is None:
        return None
    return PermissionRequest(
        eip712=signing_request(terms),
        erc7715=erc7715_request(checkout, terms),
        terms=PermissionTerms(
            token=terms.token_symbol,
            token_address=terms.token_address,
            amount_per_period=str(terms.period_amount),
            period_seconds=terms.period_seconds,
            start=to_unix(terms.start_at),
            expires=to_unix(terms.permission_expires_at),
            payee=terms.payee,
            delegate=terms.delegate,
        ),
    )


def _public(request: Request, checkout: CheckoutSessionModel) -> CheckoutSession:
    settings = request.app.state.settings
    return CheckoutSession.from_model(
        checkout,
        permission_request=_permission_request(checkout),
        base_url=settings.api.public_url.rstrip("/"),
        hosted_secret=hosted_secret(environment=settings.environment),
    )


@router.post(PATH, summary="Create a checkout session")
async def create_checkout_session(
    body: CheckoutSessionCreate,
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
) -> CheckoutSession:
    """Open a checkout for a price and the networks and tokens you accept.

    Send the `url` (the hosted page) to the customer, or, when you know their wallet, network and
    token, get `permission_request` at once. The amount per period, the on-chain window, start,
    expiry, payee (the workspace's payout address on that network) and delegate are decided by the
    server; completing the session accepts only a signature over exactly that delegation.
    """
    settings = request.app.state.settings
    created = await service.create_session(
        session,
        workspace_id=auth.scope.workspace_id,
        mode=auth.scope.mode,
        price_id=body.price,
        networks=body.networks,
        tokens=body.tokens,
        customer_address=body.customer_address,
        customer_email=body.customer_email,
        network_key=body.network,
        token_symbol=body.token,
        quantity=body.quantity,
        registry=registry,
        gateway=gateway,
        clock=clock,
        permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
        success_url=body.success_url,
        cancel_url=body.cancel_url,
        test_clock_id=body.test_clock,
        coupon_id=body.coupon,
    )
    return _public(request, created)


@router.get(PATH + "/{checkout_id}", summary="Retrieve a checkout session")
async def get_checkout_session(
    checkout_id: str, request: Request, auth: AuthDep, session: SessionDep
) -> CheckoutSession:
    checkout = await service.get_session(
        session, workspace_id=auth.scope.workspace_id, mode=auth.scope.mode, checkout_id=checkout_id
    )
    return _public(request, checkout)


@router.post(PATH + "/{checkout_id}/prepare", summary="Prepare a checkout session")
async def prepare_checkout_session(
    checkout_id: str,
    body: CheckoutSessionPrepare,
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
) -> CheckoutSession:
    """Fix the terms for the customer's wallet, network and token; returns `permission_request`.

    Preparing again with the same choice returns the same terms; another choice (the customer
    switched wallet or network) replaces them, and only a signature over the newest terms
    completes the session.
    """
    settings = request.app.state.settings
    checkout = await completion.prepare_session(
        session,
        workspace_id=auth.scope.workspace_id,
        mode=auth.scope.mode,
        checkout_id=checkout_id,
        customer_address=body.customer_address,
        network_key=body.network,
        token_symbol=body.token,
        registry=registry,
        gateway=gateway,
        clock=clock,
        permission_lifetime=timedelta(days=settings.billing.permission_lifetime_days),
    )
    return _public(request, checkout)


@router.post(PATH + "/{checkout_id}/complete", summary="Complete a checkout session")
async def complete_checkout_session(
    checkout_id: str,
    body: CheckoutSessionComplete,
    request: Request,
    auth: AuthDep,
    clock: ClockDep,
    registry: RegistryDep,
    gateway: GatewayDep,
    sessionmaker: SessionmakerDep,
    checker: SignatureCheckerDep,
) -> CheckoutSession:
    """Submit the customer's signature; the first period is charged before this returns.

    The grant is validated against the session's stored terms, then customer, permission,
    subscription, first invoice, payment and its collection job are committed together. The
    charge is then collected inline (the job is the safety net if this process dies or the signer
    is briefly unreachable); the session's `subscription` tells the outcome.
    """
    async with transaction(sessionmaker) as session:
        completed = await completion.complete_session(
            session,
            workspace_id=auth.scope.workspace_id,
            mode=auth.scope.mode,
            checkout_id=checkout_id,
            signature=(
                bytes.fromhex(body.signature.removeprefix("0x")) if body.signature else None
            ),
            grant=None if body.grant is None else body.grant.model_dump(exclude_none=True),
            registry=registry,
            checker=checker,
            clock=clock,
        )
    await completion.collect_first_charge(
        sessionmaker, completed, registry=registry, gateway=gateway, clock=clock
    )
    return _public(request, completed.checkout)
