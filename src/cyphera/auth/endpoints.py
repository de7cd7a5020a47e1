"""Merchant sign-in (``/v1/auth/…``), the signed-in account (``/v1/account``), the audit log.

Sign in with Ethereum: ``POST /v1/auth/siwe/nonce`` gives a nonce and the domain and chains the
message must name; the wallet signs the EIP-4361 message (``personal_sign``); ``POST
/v1/auth/siwe/verify`` checks it and answers a session token. OIDC providers (Web3Auth, …) that
the server is configured with sign in through ``POST /v1/auth/oidc/verify`` with an ID token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from cyphera.auth import audit, sessions
from cyphera.auth.account_dependencies import (
    SIGN_IN_LIMITED,
    AccountDep,
    AuditScopeDep,
    IdTokenVerifierDep,
    SessionPolicyDep,
    SignatureCheckerDep,
    SiweExpectationDep,
)
from cyphera.auth.audit import request_audit
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.errors import OidcNotConfigured
from cyphera.auth.schemas import (
    Account,
    AuditEntry,
    OidcVerify,
    Session,
    SessionRevoked,
    SiweNonce,
    SiweVerify,
)
from cyphera.auth.sessions import IssuedSession
from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListObject, ListParams
from cyphera.models.audit_entry import ActorType

router = APIRouter()

AUTH = "/v1/auth"
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many sign-in requests from this address (`rate_limited`); retry "
        "after the `Retry-After` header's seconds."
    }
}
AUDIT_LOG = "/v1/audit_log"


@router.post(
    AUTH + "/siwe/nonce",
    tags=["Sign-in"],
    dependencies=[SIGN_IN_LIMITED],
    responses=RATE_LIMITED,
    summary="Get a nonce for a Sign-In with Ethereum message",
    description="The nonce is valid for 10 minutes (configurable) and for one sign-in.",
)
async def create_siwe_nonce(
    session: SessionDep, clock: ClockDep, expect: SiweExpectationDep, policy: SessionPolicyDep
) -> SiweNonce:
    nonce = await sessions.issue_nonce(session, clock=clock, policy=policy)
    return SiweNonce(
        nonce=nonce.nonce,
        domain=expect.domain,
        chain_ids=sorted(expect.chain_ids),
        created=to_unix(nonce.created_at),
        expires=to_unix(nonce.expires_at),
    )


@router.post(
    AUTH + "/siwe/verify",
    tags=["Sign-in"],
    dependencies=[SIGN_IN_LIMITED],
    responses=RATE_LIMITED,
    summary="Sign in with a signed EIP-4361 message",
    description="Checks the message's grammar, domain, chain, times and nonce (once only), and "
    "the signature: a key's, or a smart account's through ERC-1271 on the message's chain.",
)
async def verify_siwe(
    body: SiweVerify,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    expect: SiweExpectationDep,
    policy: SessionPolicyDep,
    checker: SignatureCheckerDep,
) -> Session:
    issued = await sessions.sign_in_with_ethereum(
        session,
        message=body.message,
        signature=body.signature,
        expect=expect,
        checker=checker,
        clock=clock,
        policy=policy,
    )
    return _signed_in(request, issued, details={"method": "siwe"})


@router.post(
    AUTH + "/oidc/verify",
    tags=["Sign-in"],
    dependencies=[SIGN_IN_LIMITED],
    responses=RATE_LIMITED,
    summary="Sign in with an OpenID Connect ID token",
    description="The token must be signed by a key its configured issuer publishes (JWKS), for "
    "this server's audience, and unexpired.",
)
async def verify_oidc(
    body: OidcVerify,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    policy: SessionPolicyDep,
    verifier: IdTokenVerifierDep,
) -> Session:
    if verifier is None:
        raise OidcNotConfigured("This server accepts no OpenID Connect provider.", param="id_token")
    issued = await sessions.sign_in_with_oidc(
        session, id_token=body.id_token, verifier=verifier, clock=clock, policy=policy
    )
    return _signed_in(request, issued, details={"method": "oidc"})


@router.post(AUTH + "/logout", tags=["Sign-in"], summary="Sign out (revoke this session)")
async def logout(
    account: AccountDep, request: Request, session: SessionDep, clock: ClockDep
) -> SessionRevoked:
    revoked = await sessions.revoke_session(session, session_id=account.session_id, clock=clock)
    request_audit(request.scope.setdefault("state", {})).describe(
        "session.revoked", object_type="session", object_id=revoked.id
    )
    return SessionRevoked(id=revoked.id, revoked=True)


@router.get("/v1/account", tags=["Sign-in"], summary="Retrieve the signed-in account")
async def get_account(account: AccountDep, session: SessionDep) -> Account:
    return Account.from_model(await sessions.get_account(session, account_id=account.account_id))


@router.get(
    AUDIT_LOG,
    tags=["Audit log"],
    summary="List the audit log",
    description="With an API key: the acts made through the API in its workspace and mode. "
    "With a session and `Cyphera-Workspace`: everything in that workspace, management included.",
)
async def list_audit_log(
    params: Annotated[ListParams, Query()], scope: AuditScopeDep, session: SessionDep
) -> ListObject[AuditEntry]:
    page = await audit.list_entries(session, scope=scope, page=params.page_request())
    return ListObject[AuditEntry](
        data=[AuditEntry.from_model(e) for e in page.items], has_more=page.has_more, url=AUDIT_LOG
    )


def _signed_in(request: Request, issued: IssuedSession, *, details: dict[str, str]) -> Session:
    trail = request_audit(request.scope.setdefault("state", {}))
    trail.act_as(ActorType.ACCOUNT, issued.account.id)
    trail.describe(
        "session.created",
        object_type="session",
        object_id=issued.account_session.id,
        details=details,
    )
    return Session.from_model(issued.account_session, issued.account, token=issued.token)
