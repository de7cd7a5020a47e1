"""Signing in from a browser with OpenID Connect: the authorization-code flow with PKCE.

1. `begin` picks a ``state``: a single-use server nonce (`issue_nonce`, the stored nonces SIWE
   uses: random, expiring after the nonce TTL, consumed once by one atomic ``UPDATE``). The PKCE
   ``code_verifier`` and the OIDC ``nonce`` are derived from it under the deployment's secret
   (HMACs, so nothing more is stored, and neither can be computed from the state without the
   secret). The browser goes to the provider's authorization endpoint with the state, the nonce
   and the verifier's S256 challenge; the edge keeps the state in a short-lived cookie of that
   browser, so a callback is only accepted where the sign-in started.
2. `complete` consumes the state (a second callback with it — a replayed code — is refused), then
   exchanges the code at the token endpoint with the verifier (the provider checks it against the
   challenge: a code stolen on its way back is useless without it), verifies the ID token with the
   `IdTokenVerifier` — signature, issuer, audience, times — *and the nonce*, and opens the same
   session as any OIDC sign-in (`sign_in_with_oidc`).

The edge commits the consumed state even when a later step refuses the sign-in, so a state is
used once whatever happens after.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode

import httpx
import pydantic_core
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.account_repository import SiweNonceRepository
from cyphera.auth.errors import OidcCodeRefused, OidcProviderUnavailable, OidcStateInvalid
from cyphera.auth.oidc import HttpAdapter, IdTokenVerifier
from cyphera.auth.sessions import IssuedSession, SessionPolicy, issue_nonce, sign_in_with_oidc
from cyphera.kit.clock import Clock
from cyphera.kit.hosted import capability_token

VERIFIER_CONTEXT = b"cyphera.oidc_code_verifier.v1:"
NONCE_CONTEXT = b"cyphera.oidc_nonce.v1:"
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
_CLIENT_ERRORS = frozenset({httpx.codes.BAD_REQUEST, httpx.codes.UNAUTHORIZED})

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class OidcClient:
    """Our registration at one provider, for its browser flow."""

    name: str
    authorization_url: str
    token_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ("openid", "email")


@dataclass(frozen=True, slots=True)
class Authorization:
    """Where to send the browser, and the state its callback must bring back."""

    url: str
    state: str


class TokenEndpoint(Protocol):
    async def exchange(
        self, client: OidcClient, *, code: str, redirect_uri: str, code_verifier: str
    ) -> str:
        """The ID token the provider gives for `code`; `OidcCodeRefused` when it refuses the
        code, `OidcProviderUnavailable` when it cannot be asked."""
        ...


class HttpTokenEndpoint(HttpAdapter):
    """`TokenEndpoint` over HTTP(S): a form POST, no redirects, a short timeout."""

    async def exchange(
        self, client: OidcClient, *, code: str, redirect_uri: str, code_verifier: str
    ) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client.client_id,
            "code_verifier": code_verifier,
        }
        if client.client_secret is not None:
            form["client_secret"] = client.client_secret
        try:
            async with self.http() as http:
                response = await http.post(
                    client.token_url, data=form, headers={"Accept": "application/json"}
                )
        except httpx.HTTPError as exc:
            log.warning(
                "oidc.token_exchange_failed", provider=client.name, error=type(exc).__name__
            )
            raise OidcProviderUnavailable(
                f"{client.name} could not be reached to finish the sign-in; try again shortly"
            ) from exc
        answer = _json(response.content)
        if response.status_code in _CLIENT_ERRORS:
            reason = answer.get("error") if isinstance(answer.get("error"), str) else "refused"
            raise OidcCodeRefused(f"{client.name} refused the sign-in code ({str(reason)[:60]})")
        token = answer.get("id_token")
        if response.status_code != httpx.codes.OK or not isinstance(token, str):
            raise OidcProviderUnavailable(
                f"{client.name} answered the sign-in without an ID token "
                f"(HTTP {response.status_code})"
            )
        return token


def pkce_challenge(code_verifier: str) -> str:
    """RFC 7636's S256 challenge: base64url(SHA-256(verifier)), unpadded."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _derived(context: bytes, client: OidcClient, state: str, secret: bytes) -> str:
    # 43 base64url characters: a valid PKCE verifier (43-128 unreserved characters) and nonce.
    return capability_token(context, f"{client.name}\n{state}", secret=secret)


async def begin(
    session: AsyncSession,
    *,
    client: OidcClient,
    redirect_uri: str,
    secret: bytes,
    clock: Clock,
    policy: SessionPolicy,
) -> Authorization:
    """A new sign-in at `client`'s provider: its state, and the authorization URL."""
    state = (await issue_nonce(session, clock=clock, policy=policy)).nonce
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(client.scopes),
            "state": state,
            "nonce": _derived(NONCE_CONTEXT, client, state, secret),
            "code_challenge": pkce_challenge(_derived(VERIFIER_CONTEXT, client, state, secret)),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in client.authorization_url else "?"
    return Authorization(url=f"{client.authorization_url}{separator}{query}", state=state)


async def complete(
    session: AsyncSession,
    *,
    client: OidcClient,
    state: str,
    code: str,
    redirect_uri: str,
    secret: bytes,
    endpoint: TokenEndpoint,
    verifier: IdTokenVerifier,
    clock: Clock,
    policy: SessionPolicy,
) -> IssuedSession:
    """Finish the sign-in `state` began with the provider's `code`: a session, or an error."""
    if not code or not await SiweNonceRepository(session).consume(state, at=clock.now()):
        raise OidcStateInvalid("this sign-in has already been used or has expired; start again")
    id_token = await endpoint.exchange(
        client,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=_derived(VERIFIER_CONTEXT, client, state, secret),
    )
    return await sign_in_with_oidc(
        session,
        id_token=id_token,
        verifier=verifier,
        clock=clock,
        policy=policy,
        nonce=_derived(NONCE_CONTEXT, client, state, secret),
    )


def _json(body: bytes) -> dict[str, object]:
    if len(body) > MAX_TOKEN_RESPONSE_BYTES:
        return {}
    try:
        value = pydantic_core.from_json(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
