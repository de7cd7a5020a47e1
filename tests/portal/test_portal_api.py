"""The portal's doors over the real API: merchant links, wallet sign-in, cookies, tenancy.

No chain is needed here: these customers have no subscriptions yet (the browser tests in
``tests/web/test_portal_browser.py`` cover the subscribed customer end to end on anvil).
"""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models import PortalSession
from cyphera.portal.sessions import STATEMENT
from tests.auth.signin import DOMAIN, new_wallet, sign, sign_in, siwe_text
from tests.fixtures.api import MakeWorkspace, WorkspaceKeys

PORTAL_URI = f"http://{DOMAIN}/portal"


async def _customer(api: httpx.AsyncClient) -> str:
    created = await api.post("/v1/customers", json={"address": new_wallet().address})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"cyphera_portal={token}"}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_a_link_opens_the_portal_for_its_customer_with_a_safe_cookie(
    api: httpx.AsyncClient, client: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    customer = await _customer(api)
    made = await api.post(
        "/v1/billing_portal/sessions",
        json={"customer": customer, "return_url": "https://shop.example.com/account"},
    )
    assert made.status_code == 200, made.text
    link = made.json()
    assert link == {
        "id": link["id"],
        "object": "billing_portal.session",
        "customer": customer,
        "url": link["url"],
        "return_url": "https://shop.example.com/account",
        "created": to_unix(api_clock.now()),
        "expires_at": to_unix(api_clock.now()) + 900,
        "livemode": False,
    }
    assert link["url"].startswith(f"http://{DOMAIN}/portal/sessions/{link['id']}?key=")

    opened = await client.get(_path(link["url"]))
    client.cookies.clear()  # sent explicitly below
    assert opened.status_code == 303
    assert opened.headers["location"] == "/portal"
    cookie = SimpleCookie(opened.headers["set-cookie"])["cyphera_portal"]
    assert cookie.value.startswith("cpt_")
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "lax"
    assert cookie["path"] == "/portal"
    assert cookie["secure"] == ""  # the public URL is http here; https makes it Secure
    assert "frame-ancestors 'none'" in opened.headers["content-security-policy"]

    home = await client.get("/portal", headers=_cookie(cookie.value))
    assert home.status_code == 200
    assert "No subscriptions for this account yet." in home.text
    assert 'href="https://shop.example.com/account"' in home.text


async def test_a_wrong_key_an_unknown_link_and_an_expired_link_look_the_same(
    api: httpx.AsyncClient, client: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    first = (
        await api.post("/v1/billing_portal/sessions", json={"customer": await _customer(api)})
    ).json()
    second = (
        await api.post("/v1/billing_portal/sessions", json={"customer": await _customer(api)})
    ).json()
    key = urlsplit(second["url"]).query
    for path in (
        f"/portal/sessions/{first['id']}?{key}",
        f"/portal/sessions/{first['id']}",
        f"/portal/sessions/bps_nope?{urlsplit(first['url']).query}",
    ):
        refused = await client.get(path)
        assert refused.status_code == 404, path
        assert "This link has expired" in refused.text
        assert "set-cookie" not in refused.headers
    api_clock.advance(timedelta(minutes=15))
    expired = await client.get(_path(first["url"]))
    assert expired.status_code == 404


async def test_links_are_made_only_for_the_workspaces_own_customers(
    api: httpx.AsyncClient, api_server: str, make_workspace: MakeWorkspace
) -> None:
    other: WorkspaceKeys = await make_workspace("Other")
    async with httpx.AsyncClient(base_url=api_server, headers=other.headers) as theirs:
        foreign = await _customer(theirs)
    for body, status, code in (
        ({"customer": foreign}, 404, "resource_missing"),
        ({"customer": "cus_doesnotexist"}, 404, "resource_missing"),
        ({}, 400, "parameter_missing"),
        ({"customer": await _customer(api), "return_url": "javascript:alert(1)"}, 400, None),
        ({"customer": await _customer(api), "extra": 1}, 400, None),
    ):
        refused = await api.post("/v1/billing_portal/sessions", json=body)
        assert refused.status_code == status, (body, refused.text)
        if code is not None:
            assert refused.json()["error"]["code"] == code


async def test_the_configuration_says_how_customers_may_cancel(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/billing_portal/configuration")).json() == {
        "object": "billing_portal.configuration",
        "subscription_cancel": {"mode": "at_period_end"},
    }
    changed = await api.post(
        "/v1/billing_portal/configuration", json={"subscription_cancel": {"mode": "immediately"}}
    )
    assert changed.json()["subscription_cancel"] == {"mode": "immediately"}
    assert (await api.get("/v1/billing_portal/configuration")).json() == changed.json()
    bad = await api.post(
        "/v1/billing_portal/configuration", json={"subscription_cancel": {"mode": "never"}}
    )
    assert bad.status_code == 400


async def _portal_nonce(client: httpx.AsyncClient) -> str:
    answer = await client.post("/portal/api/nonce")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["uri"] == PORTAL_URI
    assert body["statement"] == STATEMENT
    assert body["domain"] == DOMAIN
    assert body["chain_ids"] == [1]
    assert body["issued_at"] == "2026-03-01T12:00:00Z"  # the server's clock, not the wallet's
    return str(body["nonce"])


async def test_a_wallet_signs_in_with_the_portals_own_message(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wallet = new_wallet()
    text = siwe_text(
        wallet.address, await _portal_nonce(client), statement=STATEMENT, uri=PORTAL_URI
    )
    signed_in = await client.post(
        "/portal/api/sign-in", json={"message": text, "signature": sign(wallet, text)}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json() == {"address": wallet.address, "redirect": "/portal"}
    token = SimpleCookie(signed_in.headers["set-cookie"])["cyphera_portal"].value
    client.cookies.clear()
    async with sessionmaker() as db:
        [stored] = (await db.scalars(select(PortalSession))).all()
    assert stored.address == wallet.address
    assert stored.customer_id is None
    assert token not in stored.token_hash  # only its hash is kept
    home = await client.get("/portal", headers=_cookie(token))
    assert "No subscriptions for this wallet yet." in home.text

    # The same message again: the nonce is spent
    replay = await client.post(
        "/portal/api/sign-in", json={"message": text, "signature": sign(wallet, text)}
    )
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "siwe_nonce_used"


@pytest.mark.parametrize(
    ("statement", "uri"),
    [("Sign in to Cyphera.", PORTAL_URI), (STATEMENT, f"http://{DOMAIN}/login")],
)
async def test_a_message_signed_for_the_dashboard_does_not_open_the_portal(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    statement: str,
    uri: str,
) -> None:
    wallet = new_wallet()
    text = siwe_text(wallet.address, await _portal_nonce(client), statement=statement, uri=uri)
    refused = await client.post(
        "/portal/api/sign-in", json={"message": text, "signature": sign(wallet, text)}
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "siwe_statement_invalid"
    assert "set-cookie" not in refused.headers
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(PortalSession)) == 0


async def test_merchant_credentials_are_not_portal_sessions(
    client: httpx.AsyncClient, workspace: WorkspaceKeys
) -> None:
    merchant = await sign_in(client)
    for value in (merchant.token, workspace.secret_key, "cpt_" + "a" * 40, ""):
        page = await client.get("/portal", headers=_cookie(value))
        assert page.status_code == 200
        assert "Sign in with your wallet" in page.text
        revocation = await client.get(
            "/portal/api/subscriptions/sub_x/revocation", headers=_cookie(value)
        )
        assert revocation.status_code == 401
        assert revocation.json()["error"]["code"] == "portal_sign_in_required"
    # And a portal session is no merchant session
    wallet = new_wallet()
    text = siwe_text(
        wallet.address, await _portal_nonce(client), statement=STATEMENT, uri=PORTAL_URI
    )
    signed_in = await client.post(
        "/portal/api/sign-in", json={"message": text, "signature": sign(wallet, text)}
    )
    token = SimpleCookie(signed_in.headers["set-cookie"])["cyphera_portal"].value
    account = await client.get("/v1/account", headers={"Authorization": f"Bearer {token}"})
    assert account.status_code == 401
