"""The dashboard script's sign-in: a nonce, then the signed EIP-4361 message; sets the cookie.

The same checks and single-use nonces as ``POST /v1/auth/siwe/verify`` (`sign_in_with_ethereum`),
but the session token goes into the HttpOnly cookie instead of the answer: the page's script
never holds it. Errors are the API's error shape.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from cyphera.auth.account_dependencies import (
    SIGN_IN_LIMITED,
    SessionPolicyDep,
    SignatureCheckerDep,
    SiweExpectationDep,
)
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.schemas import SiweVerify
from cyphera.auth.sessions import sign_in_with_ethereum
from cyphera.web.dashboard import access
from cyphera.web.signin import SignInNonce, nonce_answer

router = APIRouter(include_in_schema=False)
API = access.PATH + "/api"
STATEMENT = "Sign in to the Cyphera dashboard."


class SignedIn(BaseModel):
    redirect: str


@router.post(API + "/nonce", dependencies=[SIGN_IN_LIMITED])
async def dashboard_nonce(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    expect: SiweExpectationDep,
    policy: SessionPolicyDep,
) -> SignInNonce:
    public = str(request.app.state.settings.api.public_url).rstrip("/")
    return await nonce_answer(
        session,
        clock=clock,
        policy=policy,
        expect=expect,
        uri=f"{public}{access.PATH}",
        statement=STATEMENT,
    )


@router.post(API + "/sign-in", dependencies=[SIGN_IN_LIMITED])
async def dashboard_sign_in(
    body: SiweVerify,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    expect: SiweExpectationDep,
    policy: SessionPolicyDep,
    checker: SignatureCheckerDep,
) -> SignedIn:
    issued = await sign_in_with_ethereum(
        session,
        message=body.message,
        signature=body.signature,
        expect=expect,
        checker=checker,
        clock=clock,
        policy=policy,
    )
    access.set_cookie(request, response, issued.token)
    return SignedIn(redirect=access.PATH)
