"""Rate limits: the sign-in endpoints per client address, and every API key.

- **Sign-in** (``CYPHERA_AUTH__SIGN_IN_RATE_LIMIT``, 30/minute): anyone may ask for a SIWE nonce
  (each is a row until it expires) or present a signature to verify (an ERC-1271 check is an RPC
  call), so these are what an abuser would hammer. One window per client address covers the three
  sign-in routes together; a sign-in takes two requests (nonce, then verify). The address is the
  connection's peer, or, behind proxies named in ``CYPHERA_API__TRUSTED_PROXIES``, the first hop
  of ``X-Forwarded-For`` they did not add (`cyphera.kit.forwarded`): a client cannot reset its
  window by sending its own ``X-Forwarded-For``.
- **API keys** (``CYPHERA_AUTH__API_KEY_RATE_LIMIT``, 100/second as Stripe does): every request
  made with a key counts against that key, before the key is even looked up, so a flood costs no
  database work. (Before, a key could send 600 requests in 4 seconds, all served.)
- **Hosted checkout** (``CYPHERA_AUTH__CHECKOUT_PAGE_RATE_LIMIT``, 120/minute): the public page
  and its JSON endpoints, per checkout session and client address, counted before the session's
  client secret is checked (`cyphera.web.checkout`).

Over a limit is ``429 rate_limited`` with ``Retry-After`` (seconds). Both are `limits` sliding
windows kept in ``CYPHERA_AUTH__RATE_LIMIT_STORAGE_URI``: ``memory://`` (the default) counts in
each API process on its own, which bounds abuse per process; a shared store (``redis://…``, with
its client installed) makes the limits hold across processes. Expired nonces are purged by the
worker (`cyphera.worker.housekeeping`).
"""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from cyphera.exceptions import RateLimited

SIGN_IN = "sign_in"
API_KEY = "api_key"
CHECKOUT_PAGE = "checkout_page"


class SignInRateLimitExceeded(RateLimited):
    code = "rate_limited"


class ApiKeyRateLimitExceeded(RateLimited):
    code = "rate_limited"


class CheckoutPageRateLimitExceeded(RateLimited):
    code = "rate_limited"


def parse_rate(rate: str) -> RateLimitItem:
    """``"30/minute"`` → the limit; `ValueError` for anything `limits` cannot read."""
    return parse(rate)


def async_storage_uri(uri: str) -> str:
    """The `limits` URI of the asyncio variant of a store: ``redis://…`` → ``async+redis://…``."""
    scheme = urlsplit(uri).scheme
    return uri if scheme.startswith("async+") else f"async+{uri}"


def open_storage(uri: str) -> Storage:
    """The store named by ``CYPHERA_AUTH__RATE_LIMIT_STORAGE_URI``; `ValueError` if `limits`
    has no asyncio store of that scheme (or its client library is missing)."""
    try:
        storage = storage_from_string(async_storage_uri(uri))
    except ConfigurationError as exc:
        raise ValueError(f"not a usable rate-limit store: {uri!r} ({exc})") from exc
    if not isinstance(storage, Storage):
        raise ValueError(f"not an asyncio rate-limit store: {uri!r}")
    return storage


class RateLimiter:
    """A sliding window of `rate` per key, in `storage`, under its own `namespace`.

    The sliding-window counter (two counters per key, the previous window's weighted by how much
    of it still overlaps) rather than a moving window: constant memory and work per key, where a
    moving window keeps one timestamp per request, and `limits`' asyncio memory store walks each
    key's list on a thread.
    """

    def __init__(
        self,
        rate: str,
        *,
        storage: Storage,
        namespace: str,
        error: type[RateLimited],
        too_many: str,
    ) -> None:
        self._item = parse_rate(rate)
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._namespace = namespace
        self._error = error
        self._too_many = too_many

    async def hit(self, key: str) -> None:
        """Count one request of `key`; the limiter's error (a `RateLimited`) when over the limit."""
        if await self._limiter.hit(self._item, self._namespace, key):
            return
        stats = await self._limiter.get_window_stats(self._item, self._namespace, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise self._error(
            f"{self._too_many}; retry in {retry_after} seconds.", retry_after=retry_after
        )


class RateLimits:
    """The API's limiters, sharing one store."""

    def __init__(
        self,
        *,
        sign_in_rate: str,
        api_key_rate: str,
        storage_uri: str,
        checkout_page_rate: str = "120/minute",
    ) -> None:
        storage = open_storage(storage_uri)
        self.sign_in = RateLimiter(
            sign_in_rate,
            storage=storage,
            namespace=SIGN_IN,
            error=SignInRateLimitExceeded,
            too_many="Too many sign-in requests from this address",
        )
        self.api_key = RateLimiter(
            api_key_rate,
            storage=storage,
            namespace=API_KEY,
            error=ApiKeyRateLimitExceeded,
            too_many="Too many requests with this API key",
        )
        self.checkout_page = RateLimiter(
            checkout_page_rate,
            storage=storage,
            namespace=CHECKOUT_PAGE,
            error=CheckoutPageRateLimitExceeded,
            too_many="Too many requests for this checkout",
        )
