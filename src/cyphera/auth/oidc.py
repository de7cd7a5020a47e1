"""OpenID Connect ID tokens verified against the issuer's JWKS (Web3Auth, Auth0, Google, …).

An ID token is a compact JWS (``header.payload.signature``, base64url). `JwsIdTokenVerifier`:

1. picks the configured provider whose ``issuer`` equals the token's ``iss`` (read unverified,
   only to choose whose keys to use: nothing else is trusted before the signature is checked);
2. requires ``alg`` to be one the provider allows, of RS256 (RSA ≥ 2048 bits, PKCS#1 v1.5) and
   ES256 (P-256, JOSE ``r‖s``): never ``none``, never an HMAC a public key could be abused as;
   a ``crit`` header is refused (no extension is understood);
3. finds the key by ``kid`` in the provider's JWKS (`JwksCache`: fetched over HTTPS, cached for
   `JWKS_TTL`, fetched again when an unknown ``kid`` appears — key rotation — but at most every
   `JWKS_MIN_REFRESH`, so a flood of forged ``kid``s cannot turn into a flood of fetches; a key
   whose JWK names another ``alg`` or a non-signing ``use`` is not used);
4. checks the signature, then the claims (with, for a browser sign-in, the ``nonce`` it sent):
   ``iss``, ``aud`` (a string or a list holding the provider's audience), ``exp`` (required),
   ``iat`` (required, not in the future), ``nbf`` (if present), with `DEFAULT_LEEWAY` for
   clocks; and the subject: the provider's ``subject_claims`` joined with ``|`` (``sub`` by
   default; Web3Auth identifies users by ``verifier`` and ``verifierId``).

Cryptography: PyJWT is not among the project's dependencies; this module uses pycryptodome, which
is already installed with eth-account (through eth-keyfile). Callers depend only on the
`IdTokenVerifier` protocol, so swapping in PyJWT later changes this module alone.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import pydantic_core
import structlog
from Crypto.Hash import SHA256
from Crypto.PublicKey import ECC, RSA
from Crypto.Signature import DSS, pkcs1_15

from cyphera.auth.errors import (
    OidcNonceMismatch,
    OidcProviderUnavailable,
    OidcTokenExpired,
    OidcTokenInvalid,
)

SUPPORTED_ALGORITHMS = frozenset({"RS256", "ES256"})
MAX_TOKEN_LENGTH = 16 * 1024
MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
MAX_SUBJECT_LENGTH = 255
MAX_EMAIL_LENGTH = 320
JWKS_TTL = timedelta(minutes=10)
JWKS_MIN_REFRESH = timedelta(seconds=30)
DEFAULT_LEEWAY = timedelta(seconds=60)
HTTP_TIMEOUT_SECONDS = 5.0
SUBJECT_SEPARATOR = "|"
_P256_COORDINATE_BYTES = 32
_ES256_SIGNATURE_BYTES = 64
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """One issuer the server accepts ID tokens from (built from `cyphera.config.OidcProviderSettings`)."""

    name: str
    issuer: str
    jwks_url: str
    audience: str
    algorithms: frozenset[str] = SUPPORTED_ALGORITHMS
    subject_claims: tuple[str, ...] = ("sub",)


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """Who a verified ID token says the user is."""

    issuer: str
    subject: str
    email: str | None
    claims: Mapping[str, Any] = field(repr=False)


class IdTokenVerifier(Protocol):
    async def verify(
        self, id_token: str, *, now: datetime, nonce: str | None = None
    ) -> VerifiedIdentity:
        """The identity in `id_token`, or `OidcTokenInvalid` / `OidcTokenExpired`.

        With `nonce` (a browser sign-in that asked for one), the token's ``nonce`` claim must be
        exactly it, else `OidcNonceMismatch`. `OidcProviderUnavailable` when the issuer's keys
        cannot be fetched.
        """
        ...


class JwksSource(Protocol):
    async def fetch(self, url: str) -> Sequence[Mapping[str, Any]]:
        """The ``keys`` of the JWKS at `url`; `OidcProviderUnavailable` if it cannot be had."""
        ...


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A usable signing key from a JWKS."""

    kid: str
    kty: str  # "RSA" or "EC"
    alg: str | None
    key: RSA.RsaKey | ECC.EccKey


class HttpAdapter:
    """What the provider's HTTP adapters share: a short timeout, no redirects, and a transport
    tests may replace."""

    def __init__(
        self,
        *,
        timeout_seconds: float = HTTP_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.transport = transport

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self.timeout_seconds, follow_redirects=False, transport=self.transport
        )


class HttpJwksSource(HttpAdapter):
    """Fetches a JWKS over HTTP(S); no redirects, bounded size, short timeout."""

    async def fetch(self, url: str) -> Sequence[Mapping[str, Any]]:
        body = bytearray()
        try:
            async with (
                self.http() as http,
                http.stream("GET", url, headers={"Accept": "application/json"}) as response,
            ):
                if response.status_code != httpx.codes.OK:
                    raise OidcProviderUnavailable(
                        f"the identity provider's keys answered HTTP {response.status_code}"
                    )
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise OidcProviderUnavailable(
                            "the identity provider's key set is too large"
                        )
        except httpx.HTTPError as exc:
            log.warning("oidc.jwks_fetch_failed", url=url, error=type(exc).__name__)
            raise OidcProviderUnavailable(
                "the identity provider's keys could not be fetched; retry shortly"
            ) from exc
        try:
            document = pydantic_core.from_json(bytes(body))
        except ValueError:
            document = None
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise OidcProviderUnavailable("the identity provider's key set is not a JWKS")
        return [key for key in keys if isinstance(key, dict)]


@dataclass(slots=True)
class _CachedKeys:
    keys: dict[str, PublicKey]
    fetched_at: datetime


class JwksCache:
    """The providers' signing keys, by JWKS URL and ``kid``, refreshed on expiry and on rotation."""

    def __init__(
        self,
        source: JwksSource,
        *,
        ttl: timedelta = JWKS_TTL,
        min_refresh: timedelta = JWKS_MIN_REFRESH,
    ) -> None:
        self.source = source
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._entries: dict[str, _CachedKeys] = {}
        self._lock = asyncio.Lock()

    async def key(self, url: str, kid: str, *, now: datetime) -> PublicKey | None:
        """The key `kid` of the JWKS at `url`, or None if the provider has no such key."""
        entry = self._entries.get(url)
        if entry is not None and now - entry.fetched_at < self.ttl and kid in entry.keys:
            return entry.keys[kid]
        async with self._lock:
            entry = self._entries.get(url)  # another request may have refreshed it meanwhile
            if entry is None or now - entry.fetched_at >= self.min_refresh:
                try:
                    fetched = await self.source.fetch(url)
                except OidcProviderUnavailable:
                    if entry is not None and kid in entry.keys:
                        # A stale key the provider published is better than refusing every login.
                        return entry.keys[kid]
                    raise
                entry = _CachedKeys(keys=_parse_jwks(fetched), fetched_at=now)
                self._entries[url] = entry
                log.info("oidc.jwks_fetched", url=url, keys=len(entry.keys))
            return entry.keys.get(kid)


class JwsIdTokenVerifier:
    """`IdTokenVerifier` for compact-JWS ID tokens from the configured providers."""

    def __init__(
        self,
        providers: Iterable[OidcProvider],
        *,
        keys: JwksCache,
        leeway: timedelta = DEFAULT_LEEWAY,
    ) -> None:
        self.providers: dict[str, OidcProvider] = {}
        for provider in providers:
            if provider.issuer in self.providers:
                raise ValueError(f"two OIDC providers share the issuer {provider.issuer!r}")
            unsupported = provider.algorithms - SUPPORTED_ALGORITHMS
            if unsupported:
                raise ValueError(
                    f"OIDC provider {provider.name!r}: unsupported algorithms "
                    f"{sorted(unsupported)} (supported: {sorted(SUPPORTED_ALGORITHMS)})"
                )
            self.providers[provider.issuer] = provider
        self.keys = keys
        self.leeway = leeway

    async def verify(
        self, id_token: str, *, now: datetime, nonce: str | None = None
    ) -> VerifiedIdentity:
        if len(id_token) > MAX_TOKEN_LENGTH:
            raise OidcTokenInvalid("the ID token is too long")
        parts = id_token.split(".")
        if len(parts) != 3:  # header, payload, signature
            raise OidcTokenInvalid("the ID token is not a compact JWS (header.payload.signature)")
        header = _json_object(_b64decode(parts[0]), "header")
        claims = _json_object(_b64decode(parts[1]), "payload")
        signature = _b64decode(parts[2])

        issuer = claims.get("iss")
        provider = self.providers.get(issuer) if isinstance(issuer, str) else None
        if provider is None:
            raise OidcTokenInvalid("the ID token's issuer is not one this server accepts")
        algorithm = header.get("alg")
        if algorithm not in provider.algorithms or not isinstance(algorithm, str):
            raise OidcTokenInvalid(
                f"the ID token's algorithm {algorithm!r} is not accepted for {provider.name} "
                f"(accepted: {', '.join(sorted(provider.algorithms))})"
            )
        if "crit" in header:
            raise OidcTokenInvalid("the ID token has critical header extensions we do not support")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise OidcTokenInvalid("the ID token's header names no key (kid)")
        key = await self.keys.key(provider.jwks_url, kid, now=now)
        if key is None:
            raise OidcTokenInvalid(
                f"the ID token is signed with a key {provider.name} does not publish"
            )
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        if not verify_jws_signature(algorithm, key, signing_input, signature):
            raise OidcTokenInvalid("the ID token's signature does not verify")
        identity = self._identity(provider, claims, now)
        if nonce is not None:
            said = claims.get("nonce")
            if not isinstance(said, str) or not hmac.compare_digest(said.encode(), nonce.encode()):
                raise OidcNonceMismatch("the ID token was issued for another sign-in (nonce)")
        return identity

    def _identity(
        self, provider: OidcProvider, claims: dict[str, Any], now: datetime
    ) -> VerifiedIdentity:
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or provider.audience not in audiences:
            raise OidcTokenInvalid("the ID token was issued for another application (aud)")
        instant = now.timestamp()
        leeway = self.leeway.total_seconds()
        expires = _numeric_claim(claims, "exp", required=True)
        if expires is not None and instant >= expires + leeway:
            raise OidcTokenExpired("the ID token has expired; sign in again")
        issued = _numeric_claim(claims, "iat", required=True)
        if issued is not None and issued > instant + leeway:
            raise OidcTokenInvalid("the ID token is issued in the future")
        not_before = _numeric_claim(claims, "nbf", required=False)
        if not_before is not None and not_before > instant + leeway:
            raise OidcTokenInvalid("the ID token is not valid yet (nbf)")
        values = [claims.get(name) for name in provider.subject_claims]
        if not all(isinstance(v, str) and v for v in values):
            raise OidcTokenInvalid(
                f"the ID token lacks the claims that identify the user "
                f"({', '.join(provider.subject_claims)})"
            )
        subject = SUBJECT_SEPARATOR.join(str(v) for v in values)
        if len(subject) > MAX_SUBJECT_LENGTH:
            raise OidcTokenInvalid("the ID token's subject is too long")
        email = claims.get("email")
        usable_email = (
            email
            if isinstance(email, str)
            and 0 < len(email) <= MAX_EMAIL_LENGTH
            and "\x00" not in email
            and claims.get("email_verified", True) is not False
            else None
        )
        return VerifiedIdentity(
            issuer=provider.issuer, subject=subject, email=usable_email, claims=claims
        )


def verify_jws_signature(
    algorithm: str, key: PublicKey, signing_input: bytes, signature: bytes
) -> bool:
    """Whether `signature` is `key`'s `algorithm` signature of `signing_input`."""
    if key.alg is not None and key.alg != algorithm:
        return False
    digest = SHA256.new(signing_input)
    try:
        if algorithm == "RS256" and isinstance(key.key, RSA.RsaKey):
            pkcs1_15.new(key.key).verify(digest, signature)
            return True
        if (
            algorithm == "ES256"
            and isinstance(key.key, ECC.EccKey)
            and len(signature) == _ES256_SIGNATURE_BYTES
        ):
            DSS.new(key.key, "fips-186-3", encoding="binary").verify(digest, signature)
            return True
    except (ValueError, TypeError):
        return False
    return False


def parse_jwk(jwk: Mapping[str, Any]) -> PublicKey | None:
    """A signing key from one JWK, or None for anything unusable (skipped, not fatal)."""
    kid, use, alg, kty = jwk.get("kid"), jwk.get("use"), jwk.get("alg"), jwk.get("kty")
    if not isinstance(kid, str) or use not in (None, "sig"):
        return None
    if alg is not None and alg not in SUPPORTED_ALGORITHMS:
        return None
    try:
        if kty == "RSA":
            modulus, exponent = _b64int(jwk.get("n")), _b64int(jwk.get("e"))
            if modulus.bit_length() < MIN_RSA_BITS:
                return None
            return PublicKey(kid=kid, kty="RSA", alg=alg, key=RSA.construct((modulus, exponent)))
        if kty == "EC" and jwk.get("crv") == "P-256":
            x, y = _b64decode(jwk.get("x")), _b64decode(jwk.get("y"))
            if len(x) != _P256_COORDINATE_BYTES or len(y) != _P256_COORDINATE_BYTES:
                return None
            point = ECC.construct(
                curve="P-256",
                point_x=int.from_bytes(x, "big"),
                point_y=int.from_bytes(y, "big"),
            )
            return PublicKey(kid=kid, kty="EC", alg=alg, key=point)
    except (ValueError, TypeError, OidcTokenInvalid):
        return None
    return None


def _parse_jwks(keys: Sequence[Mapping[str, Any]]) -> dict[str, PublicKey]:
    parsed: dict[str, PublicKey] = {}
    for jwk in keys:
        key = parse_jwk(jwk)
        if key is not None and key.kid not in parsed:
            parsed[key.kid] = key
    return parsed


def _b64decode(segment: object) -> bytes:
    if not isinstance(segment, str) or not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise OidcTokenInvalid("the ID token is not base64url-encoded")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64int(segment: object) -> int:
    raw = _b64decode(segment)
    if not raw:
        raise ValueError("empty integer")
    return int.from_bytes(raw, "big")


def _json_object(raw: bytes, part: str) -> dict[str, Any]:
    try:
        # pydantic-core's parser has a fixed depth limit; json.loads could exhaust the C stack.
        value = pydantic_core.from_json(raw)
    except ValueError:
        raise OidcTokenInvalid(f"the ID token's {part} is not JSON") from None
    if not isinstance(value, dict):
        raise OidcTokenInvalid(f"the ID token's {part} is not a JSON object")
    return value


def _numeric_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OidcTokenInvalid(f"the ID token's {name} claim is missing or not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float: no real time
        number = math.inf
    # NaN compares false with everything: a token "expiring" at NaN would never expire.
    if not math.isfinite(number):
        raise OidcTokenInvalid(f"the ID token's {name} claim is not a finite time")
    return number
