"""Signing in to the dashboard with an OpenID Connect provider, in a real browser.

The provider is `tests.web.oidc_provider` on loopback (remote and not ours, so a fake); the
dashboard is the real app on its own public URL, so the provider sends the browser back to it.
The merchant clicks "Sign in with Acme ID" and lands on their workspace; a callback with another
state, a token with another sign-in's nonce, and a replayed callback are refused with a page that
says so, and open no session.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api.app import create_app
from cyphera.config import (
    ApiSettings,
    AuthSettings,
    DatabaseSettings,
    Environment,
    OidcProviderSettings,
    Settings,
)
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.account_session import AccountSession
from cyphera.web.dashboard.access import COOKIE
from cyphera.web.dashboard.oidc import STATE_COOKIE
from tests.auth.jose import make_token
from tests.fixtures.api import listening_socket, serve
from tests.web.checkout_flow import DESKTOP, capture
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, KID, FakeOidcProvider, fake_provider

PROVIDER = "Acme ID"
BUTTON = f"Sign in with {PROVIDER}"


@pytest.fixture
def listening() -> socket.socket:
    return listening_socket()


@pytest.fixture
def provider(listening: socket.socket, api_clock: FrozenClock) -> Iterator[FakeOidcProvider]:
    port = listening.getsockname()[1]
    callback = f"http://127.0.0.1:{port}/dashboard/oidc/Acme%20ID/callback"
    with fake_provider(callback, now=lambda: to_unix(api_clock.now())) as fake:
        yield fake


@pytest.fixture
def api_settings(
    database_settings: DatabaseSettings, listening: socket.socket, provider: FakeOidcProvider
) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database=database_settings,
        api=ApiSettings(public_url=f"http://127.0.0.1:{listening.getsockname()[1]}"),
        auth=AuthSettings(
            oidc_providers=[
                OidcProviderSettings(
                    name=PROVIDER,
                    issuer=provider.url,
                    jwks_url=f"{provider.url}/jwks",
                    audience=CLIENT_ID,
                    algorithms=["RS256"],
                    authorization_url=f"{provider.url}/authorize",
                    token_url=f"{provider.url}/token",
                    client_secret=SecretStr(CLIENT_SECRET),
                )
            ]
        ),
    )


@pytest.fixture
def api_server(
    api_settings: Settings, api_clock: FrozenClock, listening: socket.socket
) -> Iterator[str]:
    with serve(create_app(api_settings, clock=api_clock), sock=listening) as base_url:
        yield base_url


async def _workspace_of_provider_account(
    client: httpx.AsyncClient, provider: FakeOidcProvider
) -> str:
    """The provider's person signed in once through the API, owning a workspace."""
    now = provider.now()
    token = make_token(
        provider.key,
        {
            "iss": provider.url,
            "aud": CLIENT_ID,
            "sub": provider.subject,
            "iat": now,
            "exp": now + 60,
        },
        kid=KID,
    )
    signed = await client.post("/v1/auth/oidc/verify", json={"id_token": token})
    assert signed.status_code == 200, signed.text
    made = await client.post(
        "/v1/workspaces",
        json={"name": "Acme"},
        headers={"Authorization": f"Bearer {signed.json()['token']}"},
    )
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


async def _sessions(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as db:
        return int(await db.scalar(select(func.count()).select_from(AccountSession)) or 0)


async def _page(browser: Browser) -> Page:
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    return await context.new_page()


async def _cookies(page: Page) -> set[str]:
    return {c["name"] for c in await page.context.cookies()}


async def test_a_merchant_signs_in_with_their_provider_and_lands_on_their_workspace(
    client: httpx.AsyncClient,
    api_server: str,
    provider: FakeOidcProvider,
    browser: Browser,
    screenshots: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ws = await _workspace_of_provider_account(client, provider)
    page = await _page(browser)

    # Given the sign-in page: the wallets, and the provider's button
    await page.goto(f"{api_server}/dashboard")
    button = page.get_by_role("button", name=BUTTON)
    await expect(button).to_be_visible()
    await capture(page, screenshots, "sign-in-providers", prefix="dashboard")

    # When they press it with the keyboard: to the provider and back, signed in
    await button.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/dashboard/{ws}/test")
    await expect(page.locator("[data-figure=mrr]")).to_be_visible()
    session = next(c for c in await page.context.cookies() if c["name"] == COOKIE)
    assert session["httpOnly"] is True
    assert STATE_COOKIE not in await _cookies(page)
    assert provider.exchanges == 1
    signed_in = await _sessions(sessionmaker)

    # And the audit log names them by their provider email
    await page.get_by_role("link", name="Audit log").click()
    await expect(page.locator("[data-who]").first).to_have_text(provider.email)

    # When the provider's callback is replayed (the code, the state): refused, no new session
    replay = await page.goto(provider.callbacks[-1])
    assert replay is not None
    assert replay.status == 401
    await expect(page.locator("[data-error]")).to_have_attribute("data-error", "oidc_state_invalid")
    assert provider.exchanges == 1  # refused before the code went back to the provider
    assert await _sessions(sessionmaker) == signed_in


@pytest.mark.parametrize(
    ("misbehaviour", "code"),
    [("wrong_state", "oidc_state_invalid"), ("wrong_nonce", "oidc_nonce_mismatch")],
)
async def test_a_callback_not_for_this_sign_in_is_refused_with_a_page_and_no_session(
    client: httpx.AsyncClient,
    api_server: str,
    provider: FakeOidcProvider,
    browser: Browser,
    screenshots: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
    misbehaviour: str,
    code: str,
) -> None:
    ws = await _workspace_of_provider_account(client, provider)
    before = await _sessions(sessionmaker)
    setattr(provider, misbehaviour, True)
    page = await _page(browser)
    await page.goto(f"{api_server}/dashboard")

    async with page.expect_navigation(url="**/dashboard/oidc/refused*") as landed:
        await page.get_by_role("button", name=BUTTON).click()

    answer = await landed.value
    assert answer is not None
    assert answer.status == 401
    refusal = page.locator("[data-error]")
    await expect(refusal).to_have_attribute("data-error", code)
    await expect(refusal).to_contain_text("Nothing was signed in")
    await expect(page.get_by_role("button", name=BUTTON)).to_be_visible()  # try again
    await capture(
        page, screenshots, f"sign-in-refused-{misbehaviour.replace('_', '-')}", prefix="dashboard"
    )
    assert not {COOKIE, STATE_COOKIE} & await _cookies(page)
    assert await _sessions(sessionmaker) == before
    dashboard = await page.goto(f"{api_server}/dashboard/{ws}/test")
    assert dashboard is not None
    assert dashboard.status == 401  # still signed out

    # And once refused, the same callback is refused again (the state was used up)
    setattr(provider, misbehaviour, False)
    again = await page.goto(provider.callbacks[-1])
    assert again is not None
    assert again.status == 401
    assert await _sessions(sessionmaker) == before


async def _through_the_provider(client: httpx.AsyncClient, next_url: str) -> tuple[str, str]:
    """The browser's part by hand: start (asking to come back to `next_url`) and follow the
    provider's redirect; the callback to call, and the state cookie the start set."""
    started = await client.post(f"/dashboard/oidc/{PROVIDER}/start", data={"next": next_url})
    assert started.status_code == 303
    state_cookie = started.cookies[STATE_COOKIE]
    authorized = await client.get(started.headers["location"])
    assert authorized.status_code == 302
    back = urlsplit(authorized.headers["location"])
    client.cookies.clear()
    return f"{back.path}?{back.query}", f"{STATE_COOKIE}={state_cookie}"


async def test_the_state_is_used_once_even_by_the_browser_that_started_it(
    client: httpx.AsyncClient,
    api_server: str,
    provider: FakeOidcProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ws = await _workspace_of_provider_account(client, provider)
    callback, cookie = await _through_the_provider(client, f"/dashboard/{ws}/test/audit")

    # The callback twice with the state cookie: a replay by someone holding both
    first = await client.get(callback, headers={"Cookie": cookie})
    before = await _sessions(sessionmaker)
    second = await client.get(callback, headers={"Cookie": cookie})

    assert first.status_code == 303
    assert first.headers["location"] == f"/dashboard/{ws}/test/audit"  # back where it began
    assert second.status_code == 303
    assert second.headers["location"] == "/dashboard/oidc/refused?reason=oidc_state_invalid"
    assert provider.exchanges == 1
    assert await _sessions(sessionmaker) == before


async def test_a_sign_in_never_ends_on_another_site(
    client: httpx.AsyncClient, api_server: str, provider: FakeOidcProvider
) -> None:
    await _workspace_of_provider_account(client, provider)
    callback, cookie = await _through_the_provider(client, "https://elsewhere.example/dashboard/")

    signed_in = await client.get(callback, headers={"Cookie": cookie})

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/dashboard"
