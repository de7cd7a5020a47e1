"""Capability tokens for the public pages: an HMAC of an object's id under one deployment secret.

A hosted page (an invoice, a checkout session) needs no API key: its URL carries a token that
only the server can compute, so it cannot be guessed or derived from the id, and every object
has exactly one URL that stays valid for its lifetime, rebuilt whenever it is needed (nothing
is stored)::

    token = base64url_nopad(HMAC-SHA256(secret, context + object_id))

Each kind of page has its own ``context``, so a token for one page never opens another. The
secret is ``CYPHERA_HOSTED_SECRET`` (UTF-8 text, at least 32 characters); without it a
development default is used, which production refuses. Rotating it changes every page URL.
Tokens are compared in constant time (`token_matches`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

from cyphera.config import Environment

HOSTED_SECRET_ENV = "CYPHERA_HOSTED_SECRET"  # noqa: S105 - a variable name, not a secret
DEV_HOSTED_SECRET = "dev-hosted-invoice-secret-not-for-production"  # noqa: S105 - dev placeholder
MIN_SECRET_LENGTH = 32
TOKEN_LENGTH = 43  # 32 bytes, base64url without padding
CHECKOUT_CONTEXT = b"cyphera.checkout_page.v1:"


class HostedSecretInvalid(ValueError):
    """The configured hosted-page secret is too short, or the dev default in production."""


def hosted_secret(
    env: Mapping[str, str] | None = None, *, environment: Environment = Environment.DEVELOPMENT
) -> bytes:
    """The secret hosted-page tokens are keyed with, from ``CYPHERA_HOSTED_SECRET``.

    Raises `HostedSecretInvalid` if it is shorter than 32 characters, or missing (or the dev
    default) in production.
    """
    value = (os.environ if env is None else env).get(HOSTED_SECRET_ENV) or DEV_HOSTED_SECRET
    if environment is Environment.PRODUCTION and value == DEV_HOSTED_SECRET:
        raise HostedSecretInvalid(f"{HOSTED_SECRET_ENV} must be set to a real secret in production")
    if len(value) < MIN_SECRET_LENGTH:
        raise HostedSecretInvalid(f"{HOSTED_SECRET_ENV} must be at least {MIN_SECRET_LENGTH} long")
    return value.encode()


def capability_token(context: bytes, object_id: str, *, secret: bytes) -> str:
    """The token of `object_id`'s page of kind `context` (see the module docstring)."""
    digest = hmac.new(secret, context + object_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_matches(context: bytes, object_id: str, token: str, *, secret: bytes) -> bool:
    """Whether `token` is `object_id`'s, compared in constant time."""
    if len(token) != TOKEN_LENGTH:
        return False
    expected = capability_token(context, object_id, secret=secret)
    return hmac.compare_digest(token.encode("ascii", "replace"), expected.encode())


def checkout_client_secret(checkout_id: str, *, secret: bytes) -> str:
    """The client secret that opens checkout session `checkout_id`'s hosted page."""
    return capability_token(CHECKOUT_CONTEXT, checkout_id, secret=secret)


def checkout_page_url(base_url: str, checkout_id: str, *, secret: bytes) -> str:
    """Where the customer opens `checkout_id`: ``{base_url}/pay/{id}?key={client secret}``."""
    key = checkout_client_secret(checkout_id, secret=secret)
    return f"{base_url.rstrip('/')}/pay/{checkout_id}?key={key}"
