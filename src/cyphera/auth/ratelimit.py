"""Rate limits on the unauthenticated sign-in endpoints, per client address.

Anyone may ask for a SIWE nonce (each is a row until it expires) or present a signature to verify
(an ERC-1271 check is an RPC call), so these are what an abuser would hammer. One moving window per
client address covers the three sign-in routes together; a sign-in takes two requests (nonce, then
verify). Over the limit is ``429 rate_limited`` with ``Retry-After``.

The windows are kept in the API process's memory (`limits`' moving window): each API process
counts on its own, which bounds abuse per process without a shared store. Expired nonces are
purged by the worker (`cyphera.worker.housekeeping`).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from cyphera.exceptions import RateLimited

SIGN_IN = "sign_in"


class SignInRateLimitExceeded(RateLimited):
    code = "rate_limited"


def parse_rate(rate: str) -> RateLimitItem:
    """``"30/minute"`` → the limit; `ValueError` for anything `limits` cannot read."""
    return parse(rate)


class ClientRateLimiter:
    """A moving-window limit of `rate` per client address."""

    def __init__(self, rate: str) -> None:
        self._item = parse_rate(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> None:
        """Count one request of `client`; `SignInRateLimitExceeded` when over the limit."""
        if self._limiter.hit(self._item, SIGN_IN, client):
            return
        reset_at = self._limiter.get_window_stats(self._item, SIGN_IN, client).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise SignInRateLimitExceeded(
            f"Too many sign-in requests from this address; retry in {retry_after} seconds.",
            retry_after=retry_after,
        )
