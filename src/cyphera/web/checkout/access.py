"""Access to one checkout session by its client secret, rate limited (the page has no API key).

The page's URL carries the secret as ``?key=``; the script sends it back in the
``Cyphera-Checkout-Key`` header (headers stay out of access logs). Requests count against the
session and client address before the secret is checked. A wrong secret and an unknown session
are the same `CheckoutSessionNotFound`.
"""

from __future__ import annotations

from fastapi import Request

from cyphera.auth.dependencies import rate_limits
from cyphera.checkout.errors import CheckoutSessionNotFound
from cyphera.kit.forwarded import client_address
from cyphera.kit.hosted import hosted_secret

KEY_HEADER = "Cyphera-Checkout-Key"
MAX_KEY_LENGTH = 128


async def limit(request: Request, checkout_id: str, *, prefix: str = "") -> None:
    """Count a request against `checkout_id` (or another public object's id, under its own
    `prefix`) and the client address; ``429 rate_limited`` past the checkout page's limit."""
    settings = request.app.state.settings
    client = client_address(
        request.client.host if request.client is not None else None,
        request.headers.getlist("x-forwarded-for"),
        settings.api.trusted_proxies,
    )
    await rate_limits(request).checkout_page.hit(f"{prefix}{checkout_id[:64]}:{client}")


def key_of(value: str | None) -> str:
    if not value or len(value) > MAX_KEY_LENGTH:
        raise CheckoutSessionNotFound("no such checkout session")
    return value


def hosted_key(request: Request) -> bytes:
    """The deployment's hosted-page secret, which client secrets are derived under."""
    return hosted_secret(environment=request.app.state.settings.environment)
