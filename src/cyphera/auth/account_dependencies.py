"""FastAPI dependencies of the management endpoints: the signed-in account, and it acting as a member.

- `AccountDep`: the account behind ``Authorization: Bearer sess_…`` (a dashboard session). An API
  key here is ``401 session_required``: keys integrate, people manage.
- `MemberDep`: that account in the workspace named by the ``Cyphera-Workspace`` header, *checked
  against its membership* (`cyphera.auth.members.resolve_member`; not a member → 404). The
  member's role is then enforced by the services through `cyphera.auth.roles`.
- `AuditScopeDep`: who may read the audit log: an API key (its workspace and mode) or a member
  (their whole workspace).
- The sign-in configuration (`SiweExpectationDep`, `SessionPolicyDep`), the ERC-1271 checker and
  the OIDC verifier, built from the app's settings and registry on first use and kept on
  ``app.state`` (tests put their own there: ``app.state.signature_checker``,
  ``app.state.id_token_verifier``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cyphera.auth import sessions
from cyphera.auth.audit import request_audit
from cyphera.auth.chain_reader import RpcSignatureChecker
from cyphera.auth.dependencies import (
    ClockDep,
    SessionDep,
    authenticate,
    bearer_scheme,
    rate_limits,
)
from cyphera.auth.errors import SessionInvalid, SessionRequired, WorkspaceHeaderMissing
from cyphera.auth.members import AccountContext, MemberContext, resolve_member
from cyphera.auth.oidc import (
    HttpJwksSource,
    IdTokenVerifier,
    JwksCache,
    JwsIdTokenVerifier,
    OidcProvider,
)
from cyphera.auth.roles import Capability
from cyphera.auth.scope import Scope, WorkspaceScope
from cyphera.auth.sessions import SessionPolicy, is_session_token
from cyphera.auth.signatures import SignatureChecker
from cyphera.auth.siwe import SiweExpectation
from cyphera.config import Settings
from cyphera.kit.forwarded import client_address
from cyphera.models.audit_entry import ActorType

WORKSPACE_HEADER = "Cyphera-Workspace"
MAX_WORKSPACE_HEADER_LENGTH = 64

session_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="Session",
    description="A dashboard session as a Bearer token: `Authorization: Bearer sess_…`, issued by "
    "`POST /v1/auth/siwe/verify` or `POST /v1/auth/oidc/verify`. Management endpoints act in the "
    f"workspace named by the `{WORKSPACE_HEADER}` header, and only if the account is a member.",
)

WorkspaceHeader = Annotated[
    str | None,
    Header(
        alias=WORKSPACE_HEADER,
        description="The workspace to act in (`ws_…`); the signed-in account must be a member.",
        max_length=MAX_WORKSPACE_HEADER_LENGTH,
    ),
]


def _token(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionInvalid("Send the session token as `Authorization: Bearer sess_…`.")
    return token.strip()


async def authenticate_account(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(session_scheme)],
) -> AccountContext:
    token = _token(request)
    if token is not None and not is_session_token(token):
        raise SessionRequired(
            "This endpoint manages the workspace and needs a signed-in account "
            "(`Authorization: Bearer sess_…`); API keys cannot use it."
        )
    account = await sessions.authenticate_session(session, token=token, clock=clock)
    request_audit(request.scope.setdefault("state", {})).act_as(
        ActorType.ACCOUNT, account.account_id
    )
    return account


AccountDep = Annotated[AccountContext, Depends(authenticate_account)]


async def workspace_member(
    request: Request, account: AccountDep, session: SessionDep, workspace: WorkspaceHeader = None
) -> MemberContext:
    if not workspace:
        raise WorkspaceHeaderMissing(
            f"Name the workspace to act in with the `{WORKSPACE_HEADER}: ws_…` header.",
            param=WORKSPACE_HEADER,
        )
    member = await resolve_member(
        session, account=account, workspace_id=workspace, param=WORKSPACE_HEADER
    )
    request_audit(request.scope.setdefault("state", {})).act_as(
        ActorType.ACCOUNT, account.account_id, workspace_id=member.workspace_id
    )
    return member


MemberDep = Annotated[MemberContext, Depends(workspace_member)]


async def audit_scope(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    _api_key: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    _session: Annotated[HTTPAuthorizationCredentials | None, Security(session_scheme)],
    workspace: WorkspaceHeader = None,
) -> Scope | WorkspaceScope:
    token = _token(request)
    if token is None or not is_session_token(token):
        context = await authenticate(request, session, clock, None)
        return context.scope
    account = await authenticate_account(request, session, clock, None)
    member = await workspace_member(request, account, session, workspace)
    member.require(Capability.READ)
    return member.scope


AuditScopeDep = Annotated[Scope | WorkspaceScope, Depends(audit_scope)]


def _settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def siwe_expectation(request: Request) -> SiweExpectation:
    settings = _settings(request)
    public = urlsplit(settings.api.public_url)
    return SiweExpectation(
        domain=settings.auth.siwe_domain or public.netloc,
        scheme=public.scheme or "https",
        chain_ids=frozenset(settings.auth.siwe_chain_ids),
        clock_skew=timedelta(seconds=settings.auth.clock_skew_seconds),
    )


def session_policy(request: Request) -> SessionPolicy:
    auth = _settings(request).auth
    return SessionPolicy(
        nonce_ttl=timedelta(seconds=auth.nonce_ttl_seconds),
        session_ttl=timedelta(seconds=auth.session_ttl_seconds),
    )


def signature_checker(request: Request) -> SignatureChecker:
    state = request.app.state
    checker: SignatureChecker | None = getattr(state, "signature_checker", None)
    if checker is None:
        checker = RpcSignatureChecker(getattr(state, "registry", None))
        state.signature_checker = checker
    return checker


def id_token_verifier(request: Request) -> IdTokenVerifier | None:
    """The OIDC verifier of the configured providers; None when none is configured."""
    state = request.app.state
    verifier: IdTokenVerifier | None = getattr(state, "id_token_verifier", None)
    if verifier is None:
        providers = [
            OidcProvider(
                name=p.name,
                issuer=p.issuer,
                jwks_url=p.jwks_url,
                audience=p.audience,
                algorithms=frozenset(p.algorithms),
                subject_claims=tuple(p.subject_claims),
            )
            for p in _settings(request).auth.oidc_providers
        ]
        if not providers:
            return None
        verifier = JwsIdTokenVerifier(providers, keys=JwksCache(HttpJwksSource()))
        state.id_token_verifier = verifier
    return verifier


async def limit_sign_in(request: Request) -> None:
    """Count this request against its client's sign-in rate limit (`cyphera.auth.ratelimit`)."""
    client = client_address(
        request.client.host if request.client is not None else None,
        request.headers.getlist("x-forwarded-for"),
        _settings(request).api.trusted_proxies,
    )
    await rate_limits(request).sign_in.hit(client)


SIGN_IN_LIMITED = Depends(limit_sign_in)
"""Add to a sign-in route's ``dependencies``."""

SiweExpectationDep = Annotated[SiweExpectation, Depends(siwe_expectation)]
SessionPolicyDep = Annotated[SessionPolicy, Depends(session_policy)]
SignatureCheckerDep = Annotated[SignatureChecker, Depends(signature_checker)]
IdTokenVerifierDep = Annotated[IdTokenVerifier | None, Depends(id_token_verifier)]
