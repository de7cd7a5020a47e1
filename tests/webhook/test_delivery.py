"""Webhook delivery end to end: API → event → fan-out → signed POST to a real receiver.

The receiver is a real HTTP server on loopback (`tests.webhook.receiver`); signatures are checked
with the reference verifiers (``standardwebhooks`` and Svix's); time moves with a frozen clock
near the real one, so receivers' replay checks still pass.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from datetime import timedelta

import httpx
import pytest
import standardwebhooks
import svix.webhooks
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock
from cyphera.models import Event, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from cyphera.models.mixins import Mode
from cyphera.models.webhook_delivery import WebhookDeliveryStatus
from cyphera.models.webhook_endpoint import WebhookEndpointStatus
from cyphera.webhook.urls import IpAddress
from tests.fixtures.api import MakeApiKey, MakeWorkspace, WorkspaceKeys
from tests.fixtures.webhooks import TEST_POLICY, MakeDispatcher, add_customer, add_endpoint
from tests.webhook.receiver import Received, Receiver


def _verified(received: Received, secret: str) -> object:
    """The payload, after both reference verifiers accepted the signature."""
    svix.webhooks.Webhook(secret).verify(received.body, received.headers)
    return standardwebhooks.Webhook(secret).verify(received.body, received.headers)


async def _deliveries(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[WebhookDelivery]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at))
        )


async def test_an_event_reaches_its_subscribers_signed_as_the_api_shows_it(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Given one endpoint for customer events, one for invoices only
    customers = await add_endpoint(api, receiver.url("/customers"), ["customer.created"])
    await add_endpoint(api, receiver.url("/invoices"), ["invoice.paid"])

    # When a customer is created and the dispatcher runs
    customer_id = await add_customer(api)
    attempts = await make_dispatcher().deliver_due()

    # Then exactly the subscribing endpoint got it, signed, with the API's event body
    assert attempts == 1
    [received] = receiver.received
    assert received.path == "/customers"
    payload = _verified(received, customers["secret"])
    event_id = json.loads(received.body)["id"]
    assert payload == (await api.get(f"/v1/events/{event_id}")).json()
    assert payload["type"] == "customer.created"  # type: ignore[index]
    assert payload["data"]["object_id"] == customer_id  # type: ignore[index]
    assert received.headers["content-type"] == "application/json"
    [delivery] = await _deliveries(sessionmaker)
    assert received.headers["webhook-id"] == delivery.id
    assert delivery.status is WebhookDeliveryStatus.SUCCEEDED
    # And nothing is sent twice
    assert await make_dispatcher().deliver_due() == 0
    assert len(receiver.received) == 1


async def test_another_workspaces_events_never_reach_an_endpoint(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    make_workspace: MakeWorkspace,
    api_server: str,
) -> None:
    await add_endpoint(api, receiver.url("/mine"))
    other = await make_workspace(name="Other")
    async with httpx.AsyncClient(base_url=api_server, headers=other.headers) as theirs:
        await add_customer(theirs)
    await make_dispatcher().deliver_due()
    assert receiver.received == []


async def test_a_receiver_down_for_a_while_then_up_gets_every_event_exactly_as_sent(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    delivery_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    endpoint = await add_endpoint(api, receiver.url("/hook"))
    receiver.behave("/hook", status=503)
    for _ in range(3):
        await add_customer(api)
    dispatcher = make_dispatcher()

    # Down: every attempt fails, and each delivery is scheduled again later, not now
    assert await dispatcher.deliver_due() == 3
    assert await dispatcher.deliver_due() == 0
    delivery_clock.advance(timedelta(seconds=10))
    assert await dispatcher.deliver_due() == 3
    pending = await _deliveries(sessionmaker)
    assert {d.status for d in pending} == {WebhookDeliveryStatus.PENDING}
    assert {d.attempt_count for d in pending} == {2}
    assert all(d.last_response_status == 503 for d in pending)
    assert all(d.next_attempt_at and d.next_attempt_at > delivery_clock.now() for d in pending)

    # Up again: the next attempts succeed
    receiver.behave("/hook", status=204)
    delivery_clock.advance(timedelta(seconds=30))
    assert await dispatcher.deliver_due() == 3
    delivered = await _deliveries(sessionmaker)
    assert {d.status for d in delivered} == {WebhookDeliveryStatus.SUCCEEDED}

    # Every attempt of a delivery carried the same id and the same bytes
    by_id: dict[str, set[bytes]] = {}
    for received in receiver.received:
        by_id.setdefault(received.headers["webhook-id"], set()).add(received.body)
        _verified(received, endpoint["secret"])
    assert set(by_id) == {d.id for d in delivered}
    assert all(len(bodies) == 1 for bodies in by_id.values())
    async with sessionmaker() as session:
        events = {e.id for e in await session.scalars(select(Event))}
        attempts = await session.scalar(select(func.count()).select_from(WebhookDeliveryAttempt))
    assert {json.loads(next(iter(b)))["id"] for b in by_id.values()} == events
    assert attempts == 9


async def test_a_slow_receiver_does_not_hold_up_another(
    api: httpx.AsyncClient, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    # Given a receiver that hangs past the timeout, and a quick one, both for every event
    receiver.behave("/slow", delay=5.0)
    await add_endpoint(api, receiver.url("/slow"))
    await add_endpoint(api, receiver.url("/quick"))
    for _ in range(8):
        await add_customer(api)

    # When the dispatcher runs (4 at once per endpoint, 32 in all)
    running = asyncio.create_task(make_dispatcher().run())
    try:
        quick = await receiver.wait_for("/quick", 8, seconds=TEST_POLICY.timeout.total_seconds())
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    # Then the quick one had all 8 before the slow one's first attempt even timed out, and the
    # slow one never had more than its 4 at once
    assert quick == 8
    assert receiver.most_at_once["/slow"] == TEST_POLICY.per_endpoint


async def test_a_redirect_is_not_followed(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    receiver.behave("/moved", status=307, location=receiver.url("/elsewhere"))
    await add_endpoint(api, receiver.url("/moved"))
    await add_customer(api)

    await make_dispatcher().deliver_due()

    assert [r.path for r in receiver.received] == ["/moved"]
    [delivery] = await _deliveries(sessionmaker)
    assert delivery.status is WebhookDeliveryStatus.PENDING
    assert delivery.last_response_status == 307
    assert delivery.last_error == "redirect not followed"


async def test_a_name_rebound_to_loopback_is_refused_at_connect(
    api_server: str,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A live endpoint on a public-looking name (accepted: no DNS when it is saved) ...
    live_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)
    port = httpx.URL(receiver.base_url).port
    async with httpx.AsyncClient(
        base_url=api_server, headers={"Authorization": f"Bearer {live_key}"}
    ) as live:
        await add_endpoint(live, f"https://hooks.example.com:{port}/hook")
        await add_customer(live)
    looked_up: list[str] = []

    # ... that now resolves to loopback
    async def rebound(host: str, port: int) -> list[IpAddress]:
        looked_up.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    await make_dispatcher(resolver=rebound).deliver_due()

    assert looked_up == ["hooks.example.com"]
    assert receiver.received == []
    [delivery] = await _deliveries(sessionmaker)
    assert delivery.last_error == (
        "refused to connect: hooks.example.com resolves to 127.0.0.1 is not a public address"
    )


async def test_the_metadata_address_is_refused_even_in_test_mode(
    api: httpx.AsyncClient,
    make_dispatcher: MakeDispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await add_endpoint(api, "http://169.254.169.254/latest/meta-data")
    await add_customer(api)
    await make_dispatcher().deliver_due()
    [delivery] = await _deliveries(sessionmaker)
    assert delivery.last_error is not None
    assert "169.254.169.254 is not a public address" in delivery.last_error


async def test_during_a_rotation_both_secrets_sign(
    api: httpx.AsyncClient, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    endpoint = await add_endpoint(api, receiver.url("/hook"))
    rotated = await api.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", json={"expires_in_seconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    await add_customer(api)
    await make_dispatcher().deliver_due()

    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    _verified(received, endpoint["secret"])
    _verified(received, rotated.json()["secret"])
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook("whsec_" + "A" * 44).verify(received.body, received.headers)


async def test_a_delivery_fails_after_its_window_and_a_failing_endpoint_is_disabled(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    delivery_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    receiver.behave("/down", status=500, answer=b"database unavailable")
    endpoint = await add_endpoint(api, receiver.url("/down"))
    await add_customer(api)
    dispatcher = make_dispatcher()

    attempts = 0
    while await dispatcher.deliver_due() or attempts == 0:
        attempts += 1
        delivery_clock.advance(timedelta(hours=9))  # past the longest backoff (8 h)

    # Given up after about three days, every attempt recorded with the receiver's answer
    [delivery] = await _deliveries(sessionmaker)
    assert delivery.status is WebhookDeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.last_error == "answered 500"
    assert 8 <= delivery.attempt_count <= 12
    async with sessionmaker() as session:
        stored = await session.get(WebhookEndpoint, endpoint["id"])
        bodies = set(await session.scalars(select(WebhookDeliveryAttempt.response_body).distinct()))
        disabled = (
            await session.scalars(select(Event).where(Event.type == "webhook_endpoint.disabled"))
        ).all()
    assert bodies == {"database unavailable"}
    # And the endpoint, failing all that time, was disabled with an event
    assert stored is not None
    assert stored.status is WebhookEndpointStatus.DISABLED
    assert [e.object_id for e in disabled] == [endpoint["id"]]
    assert disabled[0].data["url"] == receiver.url("/down")

    # Re-enabled, it starts afresh
    enabled = await api.post(f"/v1/webhook_endpoints/{endpoint['id']}", json={"disabled": False})
    assert enabled.json()["status"] == "enabled"
    async with sessionmaker() as session:
        stored = await session.get(WebhookEndpoint, endpoint["id"])
    assert stored is not None
    assert stored.failing_since is None


async def test_an_attempt_whose_worker_died_is_taken_up_again_after_its_lease(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    delivery_clock: FrozenClock,
) -> None:
    await add_endpoint(api, receiver.url("/hook"))
    await add_customer(api)
    first, second = make_dispatcher(), make_dispatcher()
    await first.fan_out()
    [claimed] = await first.claim(10)  # ... and the worker dies before sending

    assert await second.claim(10) == []  # leased: nobody else sends it meanwhile
    delivery_clock.advance(TEST_POLICY.timeout + TEST_POLICY.lease_grace)
    [again] = await second.claim(10)
    assert again.delivery_id == claimed.delivery_id
    assert again.number == 2
    await second.attempt(again)
    # The dead worker's late record changes nothing: the newer lease decided
    await first.attempt(claimed)
    assert [r.headers["webhook-id"] for r in receiver.received] == [claimed.delivery_id] * 2


async def test_at_most_the_per_endpoint_limit_is_claimed_across_workers(
    api: httpx.AsyncClient, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    busy = await add_endpoint(api, receiver.url("/busy"))
    idle = await add_endpoint(api, receiver.url("/idle"), ["invoice.paid"])
    for _ in range(6):
        await add_customer(api)
    first, second = make_dispatcher(), make_dispatcher()
    await first.fan_out()

    claimed = await first.claim(50) + await second.claim(50)

    assert len(claimed) == TEST_POLICY.per_endpoint
    assert {c.endpoint_id for c in claimed} == {busy["id"]}
    assert idle["id"] not in {c.endpoint_id for c in claimed}


async def test_an_endpoint_whose_secret_does_not_decrypt_holds_up_no_other(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    broken = await add_endpoint(api, receiver.url("/broken"))
    await add_endpoint(api, receiver.url("/fine"))
    async with sessionmaker() as session, session.begin():
        stored = await session.get(WebhookEndpoint, broken["id"])
        assert stored is not None
        stored.secret_ciphertext = b"\x01" + bytes(40)  # e.g. after the server key changed
    await add_customer(api)

    await make_dispatcher().deliver_due()

    assert [r.path for r in receiver.received] == ["/fine"]
    failed = {d.endpoint_id: d for d in await _deliveries(sessionmaker)}[broken["id"]]
    assert failed.status is WebhookDeliveryStatus.FAILED
    assert failed.last_error is not None
    assert failed.last_error.startswith("the endpoint's signing secret does not decrypt")


async def test_attempts_that_never_get_recorded_end_with_their_window(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    delivery_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await add_endpoint(api, receiver.url("/hook"))
    await add_customer(api)
    dispatcher = make_dispatcher()
    await dispatcher.fan_out()
    claims = 0
    while await dispatcher.claim(10):  # every attempt "crashes" before it is recorded
        claims += 1
        delivery_clock.advance(timedelta(hours=12))

    [delivery] = await _deliveries(sessionmaker)
    assert claims == 6  # 0 h … 60 h; at 72 h its three-day window has ended
    assert delivery.status is WebhookDeliveryStatus.FAILED
    assert delivery.last_error == "its retry window ended"
    assert receiver.received == []
