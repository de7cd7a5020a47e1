from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.models.mixins import Mode
from cyphera.models.webhook_endpoint import WebhookEndpoint
from cyphera.webhook.errors import UrlInvalid, UrlNotAllowed
from cyphera.webhook.urls import check_url
from tests.fixtures.api import MakeApiKey, WorkspaceKeys

EVERYWHERE = [
    "https://example.com/hooks",
    "https://example.com:8443/hooks?source=cyphera#x",
    "https://8.8.8.8/hooks",
    "https://[2001:4860:4860::8888]/hooks",
    "https://134744072/hooks",  # 8.8.8.8 as one number: public
    "https://[2002:808:808::1]/hooks",  # 6to4 around 8.8.8.8
]
TEST_MODE_ONLY = [
    "http://localhost:3000/hooks",
    "http://127.0.0.1:8000/hooks",
    "https://api.localhost/hooks",
    "http://example.com/hooks",
    "https://user:pw@example.com/hooks",
    "https://10.0.0.1/hooks",
    "https://172.16.0.1/hooks",
    "https://192.168.1.10/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hooks",
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "https://240.0.0.1/hooks",
    "https://[::1]/hooks",
    "https://[::]/hooks",
    "https://[fe80::1]/hooks",
    "https://[fc00::1]/hooks",
    "https://[ff02::1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[2002:a00:1::]/hooks",  # 6to4 around 10.0.0.1
    "https://[fec0::1]/hooks",  # site-local: `is_global` says yes before Python 3.13
    "https://[fec0:1:2:3::4%25eth0]/hooks",
    "https://[::ffff:169.254.169.254]/hooks",
    "https://[::a9fe:a9fe]/hooks",  # IPv4-compatible 169.254.169.254
    "https://[64:ff9b::a9fe:a9fe]/hooks",  # NAT64 to 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/hooks",  # Teredo around 10.0.0.1
    "https://[2001:db8::1]/hooks",  # documentation
    "https://[100::1]/hooks",  # discard-only
    "https://[ff0e::1]/hooks",  # global-scope multicast
    "https://192.0.2.1/hooks",  # TEST-NET-1
    "https://198.18.0.1/hooks",  # benchmarking
    "https://255.255.255.255/hooks",
    "https://127.1/hooks",
    "https://2130706433/hooks",
    "https://0x7f.0.0.1/hooks",
    "https://LOCALHOST./hooks",
    "https://metadata.google.internal/hooks",
    "https://printer.local/hooks",
]
NOWHERE = [
    "",
    "example.com/hooks",
    "/hooks",
    "ftp://example.com/hooks",
    "javascript:alert(1)",
    "https://",
    "https:///hooks",
    "https://example.com:99999/hooks",
    " https://example.com/hooks",
    "https://exa mple.com/hooks",
    "https://example.com/" + "a" * 2029,  # 2049 characters
]


@pytest.mark.parametrize("url", EVERYWHERE)
def test_public_https_urls_are_allowed_in_both_modes(url: str) -> None:
    assert check_url(url, mode=Mode.TEST) == url
    assert check_url(url, mode=Mode.LIVE) == url


@pytest.mark.parametrize("url", TEST_MODE_ONLY)
def test_local_private_and_plain_urls_are_test_mode_only(url: str) -> None:
    assert check_url(url, mode=Mode.TEST) == url
    with pytest.raises(UrlNotAllowed) as refused:
        check_url(url, mode=Mode.LIVE)
    assert (refused.value.code, refused.value.param) == ("url_not_allowed", "url")


@pytest.mark.parametrize("url", NOWHERE)
def test_malformed_urls_are_invalid_in_both_modes(url: str) -> None:
    for mode in Mode:
        with pytest.raises(UrlInvalid) as refused:
            check_url(url, mode=mode)
        assert (refused.value.code, refused.value.param) == ("url_invalid", "url")


def test_a_url_of_exactly_2048_characters_is_allowed() -> None:
    url = "https://example.com/" + "a" * 2028

    assert len(url) == 2048
    assert check_url(url, mode=Mode.LIVE) == url


async def test_the_api_applies_the_rules_of_the_key_mode(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    live = {"Authorization": f"Bearer {await make_api_key(workspace.workspace_id, mode=Mode.LIVE)}"}
    body = {"enabled_events": ["*"]}

    test_local = await api.post("/v1/webhook_endpoints", json=body | {"url": TEST_MODE_ONLY[0]})
    refused = {
        url: await client.post("/v1/webhook_endpoints", json=body | {"url": url}, headers=live)
        for url in (
            "http://localhost:3000/hooks",
            "https://10.0.0.1/hooks",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hooks",
            "https://user:pw@example.com/hooks",
        )
    }
    invalid = await api.post("/v1/webhook_endpoints", json=body | {"url": NOWHERE[-1]})
    live_public = await client.post(
        "/v1/webhook_endpoints", json=body | {"url": EVERYWHERE[0]}, headers=live
    )
    moved = await client.post(
        f"/v1/webhook_endpoints/{live_public.json()['id']}",
        json={"url": "https://192.168.1.10/hooks"},
        headers=live,
    )

    assert test_local.status_code == 200
    assert live_public.status_code == 200
    for url, response in refused.items():
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "url_not_allowed", url
        assert response.json()["error"]["param"] == "url", url
    assert invalid.status_code == 400
    assert (invalid.json()["error"]["code"], invalid.json()["error"]["param"]) == (
        "url_invalid",
        "url",
    )
    assert moved.status_code == 400
    assert moved.json()["error"]["code"] == "url_not_allowed"
    async with sessionmaker() as session:
        urls = (await session.scalars(select(WebhookEndpoint.url).order_by(func.random()))).all()
    assert sorted(urls) == sorted([TEST_MODE_ONLY[0], EVERYWHERE[0]])
