"""The dashboard over plain HTTP, for rendering and authorization tests (no browser): a client
that carries a member's session in the dashboard cookie, and the CSRF token a page rendered."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from cyphera.web.dashboard.access import COOKIE
from tests.auth.signin import SignedIn

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def dashboard(api_server: str, member: SignedIn) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in to the dashboard as `member` (the API's session in the page cookie)."""
    async with httpx.AsyncClient(
        base_url=api_server, headers={"Cookie": f"{COOKIE}={member.token}"}, timeout=10.0
    ) as http:
        yield http


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token the page rendered in its forms (what a browser would post)."""
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


def error_code(page: httpx.Response) -> str | None:
    """The code of the refusal the page shows (``data-error``), if any."""
    found = re.search(r'data-error="([a-z_]+)"', page.text)
    return found.group(1) if found else None
