"""The dashboard's sign-in page over plain HTTP, with no OIDC provider configured: the wallets
only, no provider button, the strict policy for its forms, and no provider route to call."""

from __future__ import annotations

import httpx

from cyphera.web.security import CONTENT_SECURITY_POLICY


async def test_without_providers_the_sign_in_page_has_no_provider_button(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/dashboard")
    started = await client.post("/dashboard/oidc/test/start")

    assert page.status_code == 200
    assert "data-providers" not in page.text
    assert "Sign in with" not in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert started.status_code == 404
