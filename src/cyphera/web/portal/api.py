"""The portal script's JSON endpoints: sign in with the wallet, and revoke on chain.

- ``POST /portal/api/nonce``: a fresh single-use nonce and what the EIP-4361 message must say
  (domain, URI, statement, the chains it may name).
- ``POST /portal/api/sign-in``: the signed message; sets the portal cookie.
- ``GET /portal/api/subscriptions/{id}/revocation``: the transaction the customer's wallet sends
  (``disableDelegation`` of the delegation they signed).
- ``POST /portal/api/subscriptions/{id}/revocation``: after the wallet sent it, the server reads
  the chain and records the revocation when the chain shows it (``409 revocation_not_on_chain``
  until then; the script asks again). Needs the ``Cyphera-CSRF`` header.
Errors are the API's error shape.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel

from cyphera.auth.account_dependencies import (
    SIGN_IN_LIMITED,
    SessionPolicyDep,
    SignatureCheckerDep,
    SiweExpectationDep,
)
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.schemas import SiweVerify
from cyphera.chain.rpc import ChainRpc
from cyphera.payment.dependencies import RegistryDep
from cyphera.portal import service, sessions
from cyphera.web.portal import access
from cyphera.web.signin import SignInNonce, nonce_answer

router = APIRouter(include_in_schema=False, dependencies=[Depends(access.limit)])
API = sessions.PATH + "/api"
CsrfHeader = Annotated[str | None, Header(alias=access.CSRF_HEADER)]


class SignedIn(BaseModel):
    address: str
    redirect: str


class Revocation(BaseModel):
    chain_id: int
    account: str
    to: str
    data: str


class Revoked(BaseModel):
    subscription_status: str
    redirect: str


@router.post(API + "/nonce", dependencies=[SIGN_IN_LIMITED])
async def portal_nonce(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    expect: SiweExpectationDep,
    policy: SessionPolicyDep,
) -> SignInNonce:
    return await nonce_answer(
        session,
        clock=clock,
        policy=policy,
        expect=expect,
        uri=sessions.portal_uri(access.public_url(request)),
        statement=sessions.STATEMENT,
    )


@router.post(API + "/sign-in", dependencies=[SIGN_IN_LIMITED])
async def portal_sign_in(
    body: SiweVerify,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    expect: SiweExpectationDep,
    checker: SignatureCheckerDep,
) -> SignedIn:
    opened, token = await sessions.sign_in_with_wallet(
        session,
        message=body.message,
        signature=body.signature,
        expect=expect,
        uri=sessions.portal_uri(access.public_url(request)),
        checker=checker,
        now=clock.now(),
    )
    access.set_cookie(request, response, token)
    return SignedIn(address=opened.address or "", redirect=sessions.PATH)


@router.get(API + "/subscriptions/{subscription_id}/revocation")
async def portal_revocation(
    subscription_id: str, request: Request, session: SessionDep, clock: ClockDep
) -> Revocation:
    viewer = await access.viewer_of(request, session, clock)
    call = await service.revocation(session, viewer=viewer, subscription_id=subscription_id)
    return Revocation(
        chain_id=call.chain_id, account=call.account, to=call.to, data="0x" + call.data.hex()
    )


@router.post(API + "/subscriptions/{subscription_id}/revocation")
async def portal_confirm_revocation(
    subscription_id: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    registry: RegistryDep,
    csrf: CsrfHeader = None,
) -> Revoked:
    viewer = await access.viewer_of(request, session, clock)
    access.check_csrf(request, viewer, csrf)
    subscription = await service.confirm_revocation(
        session,
        viewer=viewer,
        subscription_id=subscription_id,
        rpc=_rpc(request, registry),
        clock=clock,
    )
    return Revoked(
        subscription_status=subscription.status.value,
        redirect=f"{sessions.PATH}/subscriptions/{subscription.id}?done=revoked",
    )


def _rpc(request: Request, registry: RegistryDep) -> ChainRpc:
    state = request.app.state
    rpc: ChainRpc | None = getattr(state, "chain_rpc", None)
    if rpc is None:
        rpc = ChainRpc(registry)
        state.chain_rpc = rpc
    return rpc
