"""The hosted checkout over plain HTTP: states, headers and assets, no browser needed.

The browser tests (`test_checkout_browser.py`) drive the wallet flow; these check what every
answer carries: the strict CSP, the expired state (410, nothing can be prepared), and assets
served from our origin with long caching and no inline script anywhere.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import httpx

from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, Platform, customer_account, monthly_price

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


async def _open_session(platform: Platform, workspace: WorkspaceKeys) -> tuple[str, str]:
    """A session for the demo price on the local chain: (its page path with key, its key)."""
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = await monthly_price(api)
        merchant = platform.chain.new_account(ether=0).address
        await api.post("/v1/payout_addresses/local", json={"address": merchant})
        created = await api.post("/v1/checkout/sessions", json={"price": price})
        assert created.status_code == 200, created.text
        session = created.json()
    url = urlsplit(session["url"])
    return f"{url.path}?{url.query}", str(session["client_secret"])


async def test_the_open_page_runs_only_our_own_scripts_and_caches_them_for_good(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    path, _ = await _open_session(platform, workspace)
    async with httpx.AsyncClient(base_url=platform.api_url) as browser:
        page = await browser.get(path)

        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["cache-control"] == "no-store"
        scripts = _SCRIPT.findall(page.text)
        assert scripts, "the wallet module is loaded"
        for attributes in scripts:
            source = re.search(r'src="([^"]+)"', attributes)
            assert source is not None, f"an inline script: <script{attributes}>"
            assert source.group(1).startswith("/static/")
            asset = await browser.get(source.group(1))
            assert asset.status_code == 200
            assert "javascript" in asset.headers["content-type"]
            assert "immutable" in asset.headers["cache-control"]
        assert not re.search(r"<[^>]+\son[a-z]+=", page.text), "an inline event handler"


async def test_an_expired_session_says_so_and_can_no_longer_be_prepared(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    path, key = await _open_session(platform, workspace)
    platform.clock.advance(timedelta(hours=25))
    customer = customer_account(platform.chain)
    async with httpx.AsyncClient(base_url=platform.api_url) as browser:
        page = await browser.get(path)
        prepared = await browser.post(
            f"{urlsplit(path).path}/prepare",
            json={"customer_address": customer.address, "network": "local", "token": "USDC"},
            headers={"Cyphera-Checkout-Key": key},
        )

    assert page.status_code == 410
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "This checkout has expired" in page.text
    assert "Nothing was signed or charged" in page.text
    assert 400 <= prepared.status_code < 500, prepared.text
    assert prepared.json()["error"]["code"] == "checkout_session_not_open"


async def test_a_coupon_is_shown_and_prepare_answers_the_discounted_first_charge(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        price = await monthly_price(api)
        coupon = await api.post(
            "/v1/coupons", json={"percent_off": 25, "duration": "forever", "name": "Launch"}
        )
        assert coupon.status_code == 200, coupon.text
        await api.post(
            "/v1/payout_addresses/local",
            json={"address": platform.chain.new_account(ether=0).address},
        )
        created = await api.post(
            "/v1/checkout/sessions", json={"price": price, "coupon": coupon.json()["id"]}
        )
        assert created.status_code == 200, created.text
        session = created.json()
    url = urlsplit(session["url"])
    customer = customer_account(platform.chain)
    async with httpx.AsyncClient(base_url=platform.api_url) as browser:
        page = await browser.get(f"{url.path}?{url.query}")
        prepared = await browser.post(
            f"{url.path}/prepare",
            json={"customer_address": customer.address, "network": "local", "token": "USDC"},
            headers={"Cyphera-Checkout-Key": session["client_secret"]},
        )

    # 25% off $19.99 is $4.99 (rounded down, as invoices round it): $15.00 now
    assert "Discount: Launch (25% off); first charge $15.00." in page.text
    assert prepared.status_code == 200, prepared.text
    answer = prepared.json()
    assert answer["first_charge"] == {
        "amount": "15000000",
        "display": "15.00 USDC",
        "is_due_now": True,
        "date": platform.clock.now().strftime("%Y-%m-%d"),
        "sentence": "15.00 USDC is charged now",
        "discount": "Launch (25% off)",
    }
    token = platform.registry.get("local").tokens["USDC"]
    assert answer["token"] == {"symbol": "USDC", "address": token.address, "decimals": 6}
    # The same ERC-7715 request the REST API answers: for the full, undiscounted period amount
    assert answer["erc7715"]["permission"]["type"] == "erc20-token-periodic"
    assert int(answer["erc7715"]["permission"]["data"]["periodAmount"], 16) == PRICE_UNITS
