"""The FastAPI dependencies every endpoint takes: the request's session, the clock, the caller.

This is an edge module (it imports FastAPI), kept outside `cyphera.api` so that every domain's
``endpoints.py`` can import it without importing the app that wires those endpoints together (the
import-linter layers put `cyphera.api` above the domains).

- `SessionDep`: the request's `AsyncSession`. `cyphera.api.transaction.TransactionMiddleware` opens
  it, commits it when the response is a success and rolls it back otherwise, *before* the response
  leaves: a client never sees a success that was not committed. Endpoints and services never commit.
- `ClockDep`: the app's `Clock` (a frozen or test clock in tests).
- `AuthDep`: the `AuthContext` of the Bearer API key. Resolving it also enforces the key's rate
  limit (``429 rate_limited``, `cyphera.auth.ratelimit`), counted before the key is looked up,
  and restricted keys: a read-only key gets ``403 permission_denied`` on any method but
  GET/HEAD/OPTIONS, here, once, for every endpoint. Endpoints scope everything they do with
  ``auth.scope`` (`cyphera.auth.scope`).
- `rate_limits`: the app's `RateLimits` (``app.state.rate_limits``, made by the app factory).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth import service
from cyphera.auth.audit import request_audit
from cyphera.auth.context import AuthContext
from cyphera.auth.errors import ApiKeyInvalid, PermissionDenied
from cyphera.auth.keys import hash_secret
from cyphera.auth.ratelimit import RateLimits
from cyphera.kit.clock import Clock, system_clock
from cyphera.models.audit_entry import ActorType

SESSION_STATE_KEY = "cyphera_session"
"""Where `TransactionMiddleware` puts the request's session in the ASGI scope's ``state``."""
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key as a Bearer token: `Authorization: Bearer sk_test_…`. Secret keys "
    "(`sk_test_`, `sk_live_`) read and write; restricted keys (`rk_…`) only read. Test and live "
    "keys see disjoint data.",
)


def get_session(request: Request) -> AsyncSession:
    session = request.scope.get("state", {}).get(SESSION_STATE_KEY)
    if not isinstance(session, AsyncSession):
        raise RuntimeError(
            "no database session on this request: the app must run TransactionMiddleware "
            "(cyphera.api.app.create_app installs it)"
        )
    return session


def get_clock(request: Request) -> Clock:
    clock = getattr(request.app.state, "clock", None)
    return clock if clock is not None else system_clock


def rate_limits(request: Request) -> RateLimits:
    limits = getattr(request.app.state, "rate_limits", None)
    if not isinstance(limits, RateLimits):
        raise RuntimeError("no rate limits on this app: cyphera.api.app.create_app makes them")
    return limits


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is no header.

    Any other scheme (Basic, a bare key) is `ApiKeyInvalid` with a hint, not "missing": the
    caller did try to authenticate.
    """
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiKeyInvalid("Send the API key as `Authorization: Bearer sk_test_…`.")
    return token.strip()


async def authenticate(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    # Declared for the OpenAPI security scheme; the header is parsed by `bearer_token` so that a
    # malformed header gets our error shape rather than FastAPI's.
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> AuthContext:
    secret = bearer_token(request.headers.get("authorization"))
    if secret is not None:
        # Keyed by the secret's hash, before any lookup: a flood over the limit costs no query.
        await rate_limits(request).api_key.hit(hash_secret(secret))
    context = await service.authenticate(session, secret=secret, clock=clock)
    # Whatever this request changes is audited as this key's act (`cyphera.auth.audit`).
    request_audit(request.scope.setdefault("state", {})).act_as(
        ActorType.API_KEY, context.api_key_id, workspace_id=context.workspace_id, mode=context.mode
    )
    if context.is_read_only and request.method not in READ_METHODS:
        raise PermissionDenied(
            "This API key is restricted to reading; use a secret key (sk_…) to make changes."
        )
    return context


AuthDep = Annotated[AuthContext, Depends(authenticate)]
