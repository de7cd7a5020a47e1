"""A stand-in OpenID Connect provider: a real HTTP server on loopback (the provider is remote and
not ours, so a fake is allowed here — our side runs for real).

It does what a provider does in the authorization-code flow with PKCE: ``GET /authorize`` checks
the client, the registered redirect URI, the S256 challenge, the state and nonce, and sends the
browser straight back with a one-time code (no login screen: the person is taken as signed in);
``POST /token`` gives an RS256 ID token for a code once, to the verifier that matches its
challenge; ``GET /jwks`` publishes the key. A test can make it misbehave: put another nonce in the
token (`wrong_nonce`), or send back another state (`wrong_state`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from Crypto.PublicKey import RSA

from tests.auth.jose import make_token, rsa_jwk
from tests.fixtures.loopback import loopback_server, reply

CLIENT_ID = "cyphera-dashboard-test"
CLIENT_SECRET = "provider-client-secret"
KID = "fake-1"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    used: bool = False


@dataclass
class FakeOidcProvider:
    """The provider's state, read and steered by the test."""

    url: str
    redirect_uri: str
    key: RSA.RsaKey
    now: Callable[[], int]
    subject: str = "merchant-7"
    email: str = "ops@shop.example"
    wrong_nonce: bool = False
    wrong_state: bool = False
    grants: dict[str, Grant] = field(default_factory=dict)
    callbacks: list[str] = field(default_factory=list)
    """Every URL the browser was sent back to, in order (a test replays one)."""
    exchanges: int = 0

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        expected = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": self.redirect_uri,
            "code_challenge_method": "S256",
        }
        if any(query.get(k) != v for k, v in expected.items()) or "openid" not in query.get(
            "scope", ""
        ).split(" "):
            return 400, {}
        if not (query.get("state") and query.get("nonce") and query.get("code_challenge")):
            return 400, {}
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            nonce=query["nonce"],
            challenge=query["code_challenge"],
        )
        state = "forged-" + query["state"] if self.wrong_state else query["state"]
        back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': state})}"
        self.callbacks.append(back)
        return 302, {"Location": back}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.exchanges += 1
        grant = self.grants.get(form.get("code", ""))
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            grant is None
            or grant.used  # a code is good once
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != grant.client_id
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant.redirect_uri
            or challenge != grant.challenge
        ):
            return 400, {"error": "invalid_grant"}
        grant.used = True
        now = self.now()
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "sub": self.subject,
            "email": self.email,
            "email_verified": True,
            "iat": now,
            "exp": now + 600,
            "nonce": "another-sign-in" if self.wrong_nonce else grant.nonce,
        }
        id_token = make_token(self.key, claims, kid=KID)
        return 200, {"access_token": "at", "token_type": "Bearer", "id_token": id_token}


@contextmanager
def fake_provider(redirect_uri: str, now: Callable[[], int]) -> Iterator[FakeOidcProvider]:
    """The provider, listening on 127.0.0.1 until the block ends."""
    provider = FakeOidcProvider(url="", redirect_uri=redirect_uri, key=RSA.generate(2048), now=now)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/jwks":
                self._json(200, {"keys": [rsa_jwk(provider.key, KID)]})
            elif parts.path == "/authorize":
                status, headers = provider.authorize(
                    {k: v[0] for k, v in parse_qs(parts.query).items()}
                )
                self._answer(status, b"", headers)
            else:
                self._answer(404, b"", {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path != "/token":
                self._answer(404, b"", {})
                return
            self._json(*provider.token(form))

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            reply(self, status, body, headers)

        def log_message(self, format: str, *args: Any) -> None:
            return

    with loopback_server(Handler) as base_url:
        provider.url = base_url
        yield provider
