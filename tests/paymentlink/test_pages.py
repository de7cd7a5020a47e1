"""``/l/plink_…`` over plain HTTP: every visit a new checkout session, a page for a dead link,
and the QR codes (public and merchant's) of the link's URL."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

import httpx
import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import Settings
from cyphera.models import CheckoutSession
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.paymentlink.qr import SVG_OPTIONS
from tests.paymentlink.links import ready_price

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


async def _link(api: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    price = await ready_price(api)
    made = await api.post("/v1/payment_links", json={"price": price, **extra})
    assert made.status_code == 200, made.text
    return dict(made.json())


async def _sessions(sessionmaker: async_sessionmaker[AsyncSession]) -> list[CheckoutSession]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(CheckoutSession))).all())


async def test_every_visit_opens_a_new_checkout_session_and_goes_to_its_page(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    link = await _link(
        api, quantity=2, tokens=["USDC"], success_url="https://shop.example.com/welcome"
    )
    path = urlsplit(link["url"]).path
    assert path == f"/l/{link['id']}"

    first = await client.get(path)
    second = await client.get(path)

    pages = []
    for visit in (first, second):
        assert visit.status_code == 303, visit.text
        location = visit.headers["location"]
        assert location.startswith("/pay/cs_")
        pages.append(location)
    assert pages[0] != pages[1]
    sessions = {s.id: s for s in await _sessions(sessionmaker)}
    assert {urlsplit(page).path.removeprefix("/pay/") for page in pages} == set(sessions)
    for checkout in sessions.values():
        assert checkout.status is CheckoutSessionStatus.OPEN
        assert checkout.price_id == link["price"]
        assert checkout.quantity == 2
        assert checkout.amount_cents == 2 * 1999
        assert checkout.accepted_tokens == ["USDC"]
        assert checkout.success_url == "https://shop.example.com/welcome"
    for page in pages:
        opened = await client.get(page)
        assert opened.status_code == 200
        assert "Pro plan" in opened.text


async def test_a_deactivated_link_says_so_with_a_410_and_opens_no_session(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    link = await _link(api)
    await api.post(f"/v1/payment_links/{link['id']}", json={"active": False})

    visit = await client.get(f"/l/{link['id']}")

    assert visit.status_code == 410
    assert "This link is no longer active" in visit.text
    assert "script-src 'self'" in visit.headers["content-security-policy"]
    assert visit.headers["cache-control"] == "no-store"
    assert await _sessions(sessionmaker) == []


async def test_a_link_whose_price_was_archived_is_no_longer_active(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    link = await _link(api)
    await api.post(f"/v1/prices/{link['price']}", json={"active": False})

    visit = await client.get(f"/l/{link['id']}")

    assert visit.status_code == 410
    assert "This link is no longer active" in visit.text
    assert await _sessions(sessionmaker) == []


async def test_an_unknown_link_is_a_404_page(client: httpx.AsyncClient) -> None:
    for path in ("/l/plink_missing", "/l/cs_notalink", "/l/plink_missing/qr.svg"):
        visit = await client.get(path)

        assert visit.status_code == 404, path
        assert "Payment link not found" in visit.text
        assert "frame-ancestors 'none'" in visit.headers["content-security-policy"]


def _expected_svg(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, micro=False).save(out, title="Payment link QR code", **SVG_OPTIONS)
    return out.getvalue()


async def test_the_qr_code_is_an_svg_of_the_link_url_for_the_merchant_and_the_public(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    api_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    link = await _link(api)
    await api.post(f"/v1/payment_links/{link['id']}", json={"active": False})

    merchant = await api.get(f"/v1/payment_links/{link['id']}/qr.svg")
    public = await client.get(f"/l/{link['id']}/qr.svg")

    assert link["url"] == f"{api_settings.api.public_url}/l/{link['id']}"
    for answer in (merchant, public):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "image/svg+xml"
        root = ET.fromstring(answer.content)  # noqa: S314 - our own server's SVG
        assert root.tag == f"{SVG_NAMESPACE}svg"
        assert answer.content == _expected_svg(link["url"])
    assert (await client.get(f"/v1/payment_links/{link['id']}/qr.svg")).status_code == 401
    assert await _sessions(sessionmaker) == []  # a QR code opens nothing
