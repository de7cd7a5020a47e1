"""The deliveries API: what was sent where and how it went; retry a delivery, resend an event."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from cyphera.kit.clock import FrozenClock, to_unix
from tests.fixtures.api import MakeWorkspace
from tests.fixtures.webhooks import MakeDispatcher, add_customer, add_endpoint
from tests.webhook.receiver import Receiver


async def test_deliveries_list_with_their_latest_attempt_and_next_retry(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    delivery_clock: FrozenClock,
) -> None:
    receiver.behave("/hook", status=502, answer=b"bad gateway")
    endpoint = await add_endpoint(api, receiver.url("/hook"))
    await add_customer(api)
    await make_dispatcher().deliver_due()

    listed = await api.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries")

    assert listed.status_code == 200
    [delivery] = listed.json()["data"]
    attempted_at = to_unix(delivery_clock.now())
    assert delivery["object"] == "webhook_delivery"
    assert delivery["status"] == "pending"
    assert delivery["event_type"] == "customer.created"
    assert delivery["attempt_count"] == 1
    assert delivery["webhook_endpoint"] == endpoint["id"]
    assert attempted_at + 5 <= delivery["next_attempt"] <= attempted_at + 10
    last = delivery["last_attempt"]
    assert last["number"] == 1
    assert last["created"] == attempted_at
    assert last["succeeded"] is False
    assert last["response_status"] == 502
    assert last["response_body"] == "bad gateway"
    assert last["error"] == "answered 502"
    assert last["duration_ms"] >= 0
    assert receiver.received[0].headers["webhook-id"] == delivery["id"]

    # Retrieved, it has every attempt; filtered by status, it is found or not
    one = await api.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries/{delivery['id']}")
    assert one.json()["attempts"] == [last]
    succeeded = await api.get(
        f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", params={"status": "succeeded"}
    )
    assert succeeded.json()["data"] == []


async def test_a_retry_sends_the_same_delivery_now(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
) -> None:
    receiver.behave("/hook", status=500)
    endpoint = await add_endpoint(api, receiver.url("/hook"))
    await add_customer(api)
    dispatcher = make_dispatcher()
    await dispatcher.deliver_due()
    [delivery] = (await api.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries")).json()[
        "data"
    ]
    receiver.behave("/hook", status=200)

    retried = await api.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/deliveries/{delivery['id']}/retry"
    )

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending"
    assert await dispatcher.deliver_due() == 1  # due at once, not after its backoff
    first, second = receiver.received
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery["id"]
    assert second.body == first.body
    shown = await api.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries/{delivery['id']}")
    assert shown.json()["status"] == "succeeded"
    assert [a["number"] for a in shown.json()["attempts"]] == [2, 1]


async def test_a_retry_is_refused_while_sending_or_to_a_disabled_endpoint(
    api: httpx.AsyncClient, receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    endpoint = await add_endpoint(api, receiver.url("/hook"))
    await add_customer(api)
    dispatcher = make_dispatcher()
    await dispatcher.fan_out()
    [claimed] = await dispatcher.claim(10)
    retry = f"/v1/webhook_endpoints/{endpoint['id']}/deliveries/{claimed.delivery_id}/retry"

    in_progress = await api.post(retry)
    assert in_progress.status_code == 409
    assert in_progress.json()["error"]["code"] == "webhook_delivery_in_progress"

    await dispatcher.attempt(claimed)
    await api.post(f"/v1/webhook_endpoints/{endpoint['id']}", json={"disabled": True})
    disabled = await api.post(retry)
    assert disabled.status_code == 409
    assert disabled.json()["error"]["code"] == "webhook_endpoint_disabled"
    assert len(receiver.received) == 1


async def test_an_event_is_resent_to_its_subscribers_or_to_one_endpoint(
    api: httpx.AsyncClient,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
) -> None:
    had_it = await add_endpoint(api, receiver.url("/had-it"))
    await add_customer(api)
    dispatcher = make_dispatcher()
    await dispatcher.deliver_due()
    event_id = json.loads(receiver.received[0].body)["id"]
    # An endpoint made later, one for other events
    later = await add_endpoint(api, receiver.url("/later"), ["customer.created"])
    other = await add_endpoint(api, receiver.url("/other"), ["invoice.paid"])

    resent = await api.post(f"/v1/events/{event_id}/resend")

    assert resent.status_code == 200, resent.text
    by_endpoint = {d["webhook_endpoint"]: d for d in resent.json()["data"]}
    assert set(by_endpoint) == {had_it["id"], later["id"]}
    assert by_endpoint[had_it["id"]]["attempt_count"] == 1  # the same delivery, again
    await dispatcher.deliver_due()
    assert sorted(r.path for r in receiver.received) == ["/had-it", "/had-it", "/later"]

    # To one endpoint: only if it subscribes to the event's type
    refused = await api.post(
        f"/v1/events/{event_id}/resend", json={"webhook_endpoint": other["id"]}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "event_not_enabled"
    one = await api.post(f"/v1/events/{event_id}/resend", json={"webhook_endpoint": later["id"]})
    assert [d["webhook_endpoint"] for d in one.json()["data"]] == [later["id"]]


async def test_deliveries_of_another_workspace_are_not_found(
    api: httpx.AsyncClient,
    api_server: str,
    make_workspace: MakeWorkspace,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    delivery_clock: FrozenClock,
) -> None:
    other = await make_workspace(name="Other")
    async with httpx.AsyncClient(base_url=api_server, headers=other.headers) as theirs:
        their_endpoint = await add_endpoint(theirs, receiver.url("/theirs"))
        await add_customer(theirs)
    await make_dispatcher().deliver_due()
    mine = await add_endpoint(api, receiver.url("/mine"))
    delivery_id = receiver.received[0].headers["webhook-id"]
    event_id = json.loads(receiver.received[0].body)["id"]

    for path in (
        f"/v1/webhook_endpoints/{their_endpoint['id']}/deliveries",
        f"/v1/webhook_endpoints/{their_endpoint['id']}/deliveries/{delivery_id}",
        f"/v1/webhook_endpoints/{mine['id']}/deliveries/{delivery_id}",
    ):
        assert (await api.get(path)).status_code == 404, path
    for path in (
        f"/v1/webhook_endpoints/{mine['id']}/deliveries/{delivery_id}/retry",
        f"/v1/events/{event_id}/resend",
    ):
        assert (await api.post(path)).status_code == 404, path
    delivery_clock.advance(timedelta(minutes=1))
    assert await make_dispatcher().deliver_due() == 0
    assert len(receiver.received) == 1
