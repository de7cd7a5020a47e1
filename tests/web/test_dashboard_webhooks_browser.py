"""An endpoint's deliveries in the dashboard, in a real browser, with a real receiver.

The receiver answers 503 first: the owner sees the failed attempt (status, the receiver's words,
when it is tried next), retries it from the page once the receiver is back, and sees it
delivered with the same webhook-id; disables and re-enables the endpoint. A viewer sees the
deliveries without a button, and a forged retry is refused with nothing changed.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.auth.signin import join, owner_of_new_workspace
from tests.fixtures.webhooks import MakeDispatcher, add_customer, add_endpoint
from tests.web.checkout_flow import capture
from tests.web.dashboard_session import signed_in_page
from tests.webhook.receiver import Receiver


async def test_deliveries_are_seen_retried_and_the_endpoint_switched_from_the_page(
    client: httpx.AsyncClient,
    api_server: str,
    browser: Browser,
    screenshots: Path,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    made = await client.post(
        "/v1/api_keys", json={"name": "shop", "mode": "test"}, headers=owner.headers(ws)
    )
    key = {"Authorization": f"Bearer {made.json()['secret']}"}
    async with httpx.AsyncClient(base_url=api_server, headers=key) as api:
        endpoint = await add_endpoint(api, receiver.url("/hook"), ["customer.created"])
        receiver.behave("/hook", status=503, answer=b"maintenance until 10:00")
        await add_customer(api)
    dispatcher = make_dispatcher()
    await dispatcher.deliver_due()

    # The owner finds the failed attempt from the endpoint's card
    page = await signed_in_page(browser, api_server, owner.wallet, ws)
    await page.goto(f"{api_server}/dashboard/{ws}/test/webhooks")
    await page.get_by_role(
        "link", name=f"Deliveries and attempts to {receiver.url('/hook')}"
    ).click()
    delivery = page.locator("[data-delivery]")
    await expect(delivery).to_have_count(1)
    await expect(delivery).to_have_attribute("data-status", "pending")
    await expect(delivery.locator("[data-answer]")).to_have_text("503 · maintenance until 10:00")
    message_id = await delivery.get_attribute("data-delivery")
    await capture(page, screenshots, "webhook-deliveries", prefix="dashboard")

    # Back up, retried from the page: sent at once, with the same webhook-id
    receiver.behave("/hook", status=200)
    await page.get_by_role("button", name=f"Retry now: customer.created {message_id}").click()
    await expect(page.locator("[data-notice]")).to_contain_text("same webhook-id")
    assert await dispatcher.deliver_due() == 1
    await page.reload()
    await expect(delivery).to_have_attribute("data-status", "succeeded")
    await expect(delivery.locator("[data-answer]")).to_have_text("200")
    assert [r.headers["webhook-id"] for r in receiver.received] == [message_id, message_id]
    await page.get_by_role("link", name="Succeeded").click()
    await expect(delivery).to_have_count(1)
    await page.get_by_role("link", name="Failed").click()
    await expect(page.locator("[data-empty]")).to_contain_text("No failed deliveries")
    await capture(page, screenshots, "webhook-deliveries-empty", prefix="dashboard")

    # Disabled and enabled again from the page
    await page.get_by_role("button", name="Disable endpoint").click()
    await expect(page.locator("[data-endpoint-status]")).to_have_attribute(
        "data-endpoint-status", "disabled"
    )
    await page.get_by_role("button", name="Enable endpoint").click()
    await expect(page.locator("[data-notice]")).to_contain_text("Endpoint enabled")

    # A viewer sees the deliveries but no button, and a forged retry changes nothing
    viewer, _ = await join(client, owner, ws, "viewer")
    seen = await signed_in_page(browser, api_server, viewer.wallet, ws)
    await seen.goto(f"{api_server}/dashboard/{ws}/test/webhooks/{endpoint['id']}")
    await expect(seen.locator("[data-delivery]")).to_have_count(1)
    await expect(seen.locator("main form")).to_have_count(0)
    csrf = await seen.locator("input[name=csrf_token]").first.input_value()
    forged = await seen.request.post(
        f"{api_server}/dashboard/{ws}/test/webhooks/{endpoint['id']}/deliveries/{message_id}/retry",
        form={"csrf_token": csrf},
    )
    assert forged.status == 403
    assert await dispatcher.deliver_due() == 0
    assert len(receiver.received) == 2
