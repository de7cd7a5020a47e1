"""The dashboard's "Sign in with <provider>": the OIDC authorization-code flow's two ends.

``POST /dashboard/oidc/{provider}/start`` begins it (`cyphera.auth.oidc_flow.begin`), keeps the
state in the ``cyphera_oidc`` cookie (HttpOnly, SameSite=Lax so it comes back with the provider's
redirect, path ``/dashboard/oidc``, as long as the state lives) and sends the browser to the
provider. ``GET …/callback`` accepts only the state of that cookie, finishes the flow
(`oidc_flow.complete`) and sets the same session cookie as the wallet sign-in. A refusal
redirects to ``…/refused?reason=<code>``, the sign-in page saying why (401, or 503 when the
provider could not be reached): a redirect, so that the consumed state is committed even then.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cyphera.auth import oidc_flow
from cyphera.auth.account_dependencies import (
    SIGN_IN_LIMITED,
    IdTokenVerifierDep,
    SessionPolicyDep,
)
from cyphera.auth.dependencies import ClockDep, SessionDep
from cyphera.auth.errors import (
    OidcCodeRefused,
    OidcNonceMismatch,
    OidcProviderUnavailable,
    OidcSignInDeclined,
    OidcStateInvalid,
    OidcTokenExpired,
    OidcTokenInvalid,
)
from cyphera.config import OidcProviderSettings
from cyphera.exceptions import AppError, NotFound, Unauthenticated, Unavailable
from cyphera.kit.hosted import hosted_secret
from cyphera.web.dashboard import access
from cyphera.web.dashboard.frame import HOME, OIDC_PATH, sign_in

router = APIRouter(include_in_schema=False)
STATE_COOKIE = "cyphera_oidc"
# What the refused page says, by the refusal's code: never text taken from the URL.
REFUSALS: dict[str, AppError] = {
    e.code: e
    for e in (
        OidcStateInvalid(
            "This sign-in was not started in this browser, or it has already been used. "
            "Nothing was signed in: start again."
        ),
        OidcCodeRefused(
            "The provider refused the sign-in code (it may have been used already). "
            "Nothing was signed in: start again."
        ),
        OidcNonceMismatch(
            "The provider's answer was not issued for this sign-in. Nothing was signed in."
        ),
        OidcTokenInvalid("The provider's answer could not be verified. Nothing was signed in."),
        OidcTokenExpired("The provider's answer had expired. Start again."),
        OidcSignInDeclined("The sign-in was not completed at the provider. Nothing was signed in."),
        OidcProviderUnavailable("The provider could not be reached. Try again in a moment."),
    )
}


def _provider(request: Request, name: str) -> OidcProviderSettings:
    for provider in request.app.state.settings.auth.oidc_providers:
        if provider.name == name and provider.has_browser_flow:
            assert isinstance(provider, OidcProviderSettings)
            return provider
    raise NotFound(f"No sign-in provider {name!r}")


def _client(provider: OidcProviderSettings) -> oidc_flow.OidcClient:
    secret = provider.client_secret
    return oidc_flow.OidcClient(
        name=provider.name,
        authorization_url=provider.authorization_url or "",
        token_url=provider.token_url or "",
        client_id=provider.client_id or provider.audience,
        client_secret=secret.get_secret_value() if secret is not None else None,
        scopes=tuple(provider.scopes),
    )


def _redirect_uri(request: Request, name: str) -> str:
    public = str(request.app.state.settings.api.public_url).rstrip("/")
    return f"{public}{OIDC_PATH}/{quote(name, safe='')}/callback"


def _ours(path: str) -> bool:
    """Whether `path` is a dashboard page to come back to (never another site)."""
    return path.startswith(HOME + "/") and not any(c in path for c in " \\")


def _secret(request: Request) -> bytes:
    return hosted_secret(environment=request.app.state.settings.environment)


def _token_endpoint(request: Request) -> oidc_flow.TokenEndpoint:
    state = request.app.state
    endpoint: oidc_flow.TokenEndpoint | None = getattr(state, "oidc_token_endpoint", None)
    if endpoint is None:
        endpoint = oidc_flow.HttpTokenEndpoint()
        state.oidc_token_endpoint = endpoint
    return endpoint


def _clear_state(request: Request, response: Response) -> None:
    response.delete_cookie(
        STATE_COOKIE, path=OIDC_PATH, secure=access.secure(request), httponly=True, samesite="lax"
    )


@router.post(OIDC_PATH + "/{name}/start", dependencies=[SIGN_IN_LIMITED])
async def oidc_start(
    name: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    policy: SessionPolicyDep,
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    provider = _provider(request, name)
    started = await oidc_flow.begin(
        session,
        client=_client(provider),
        redirect_uri=_redirect_uri(request, name),
        secret=_secret(request),
        clock=clock,
        policy=policy,
    )
    response = RedirectResponse(started.url, status_code=303)
    back = next_url if _ours(next_url) else ""
    response.set_cookie(
        STATE_COOKIE,
        f"{started.state} {back}".strip(),
        max_age=int(policy.nonce_ttl.total_seconds()),
        path=OIDC_PATH,
        secure=access.secure(request),
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(OIDC_PATH + "/{name}/callback", dependencies=[SIGN_IN_LIMITED])
async def oidc_callback(
    name: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    policy: SessionPolicyDep,
    verifier: IdTokenVerifierDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    provider = _provider(request, name)
    started, _, back = (request.cookies.get(STATE_COOKIE) or "").partition(" ")
    try:
        if error:
            raise OidcSignInDeclined(f"{provider.name} answered {error[:60]!r}")
        if not (state and started and hmac.compare_digest(state.encode(), started.encode())):
            raise OidcStateInvalid("the callback's state is not the one this browser started")
        if verifier is None:  # a provider is configured, so there is one
            raise OidcProviderUnavailable("no ID token verifier")
        issued = await oidc_flow.complete(
            session,
            client=_client(provider),
            state=state,
            code=code,
            redirect_uri=_redirect_uri(request, name),
            secret=_secret(request),
            endpoint=_token_endpoint(request),
            verifier=verifier,
            clock=clock,
            policy=policy,
        )
    except (Unauthenticated, Unavailable) as exc:
        refused = RedirectResponse(f"{OIDC_PATH}/refused?reason={exc.code}", status_code=303)
        _clear_state(request, refused)
        return refused
    # Checked again: the cookie is the browser's to change.
    response = RedirectResponse(back if _ours(back) else HOME, status_code=303)
    _clear_state(request, response)
    access.set_cookie(request, response, issued.token)
    return response


@router.get(OIDC_PATH + "/refused")
async def oidc_refused(request: Request, reason: str = "") -> Response:
    refusal = REFUSALS.get(reason, REFUSALS[OidcTokenInvalid.code])
    status = 503 if isinstance(refusal, Unavailable) else 401
    return sign_in(request, status_code=status, refusal=refusal)
