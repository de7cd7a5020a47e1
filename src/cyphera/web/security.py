"""The headers of every page: a strict Content-Security-Policy, and no caching or framing.

Pages carry no inline script, style or ``on…`` handler, so the policy allows only files from our
own origin (images also as ``data:`` URIs); a page may widen where its forms lead, no more. Page
URLs hold a capability (the checkout's client secret): the referrer is never sent, nothing is
cached or indexed.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(*, form_targets: Iterable[str] = ()) -> str:
    """The pages' policy; `form_targets` are other origins a form of the page may lead to (a
    sign-in form redirecting to an identity provider: browsers check redirects too)."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            " ".join(["form-action 'self'", *form_targets]),
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
PAGE_PREFIXES = ("/pay/", "/portal", "/dashboard", "/l/")


class PageSecurityMiddleware:
    """Puts `PAGE_HEADERS` on every answer under `PAGE_PREFIXES`: pages, their JSON, their errors."""

    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...] = PAGE_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    # A page that widened its own policy (`content_security_policy`) keeps it.
                    if name == "Content-Security-Policy" and name in headers:
                        continue
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
