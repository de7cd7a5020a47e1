"""The lifecycle over HTTP: shapes, status codes and error codes of the subscription actions."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.kit.periods import Interval
from cyphera.models.subscription import SubscriptionStatus
from tests.fixtures.api import WorkspaceKeys
from tests.subscription.helpers import FakeGateway, World, make_world

S = SubscriptionStatus


@pytest.fixture
async def merchant(
    sessionmaker: async_sessionmaker[AsyncSession],
    api_clock: FrozenClock,
    workspace: WorkspaceKeys,
) -> World:
    """The `api` client's workspace, on the clock the API server reads."""
    return await make_world(sessionmaker, api_clock, FakeGateway(), workspace.workspace_id)


def error(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["param"]


async def test_delete_cancels_now(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price())

    response = await api.delete(f"/v1/subscriptions/{sub.subscription_id}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "canceled"
    assert body["ended_at"] == to_unix(merchant.clock.now())
    assert body["cancellation_details"] == {"reason": "cancellation_requested"}
    again = await api.delete(f"/v1/subscriptions/{sub.subscription_id}")
    assert error(again) == (409, "subscription_state_invalid", None)
    assert again.json()["error"]["type"] == "invalid_request_error"


async def test_cancel_without_a_body_cancels_now(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price())

    response = await api.post(f"/v1/subscriptions/{sub.subscription_id}/cancel")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled"


async def test_cancel_at_period_end_and_undo_it(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price())
    path = f"/v1/subscriptions/{sub.subscription_id}"

    marked = await api.post(path + "/cancel", json={"at_period_end": True})
    assert marked.status_code == 200, marked.text
    assert (marked.json()["status"], marked.json()["cancel_at_period_end"]) == ("active", True)

    undone = await api.post(path, json={"cancel_at_period_end": False})
    assert undone.status_code == 200, undone.text
    assert (undone.json()["cancel_at_period_end"], undone.json()["canceled_at"]) == (False, None)


async def test_the_status_is_not_a_parameter(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price())

    response = await api.post(f"/v1/subscriptions/{sub.subscription_id}", json={"status": "paused"})

    assert error(response) == (400, "parameter_unknown", "status")
    assert (await merchant.subscription(sub.subscription_id)).status is S.ACTIVE


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"at_period_end": "yes"}, "at_period_end"),
        ({"at_period_end": None}, "at_period_end"),
        ({"immediately": True}, "immediately"),
    ],
)
async def test_a_bad_cancel_body_is_400_and_cancels_nothing(
    api: httpx.AsyncClient, merchant: World, body: dict[str, object], param: str
) -> None:
    sub = await merchant.subscribe(await merchant.price())

    response = await api.post(f"/v1/subscriptions/{sub.subscription_id}/cancel", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert (await merchant.subscription(sub.subscription_id)).status is S.ACTIVE


async def test_pause_and_resume(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price())
    path = f"/v1/subscriptions/{sub.subscription_id}"
    resumes_at = to_unix(merchant.clock.now() + timedelta(days=10))

    paused = await api.post(path + "/pause", json={"resumes_at": resumes_at})
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert paused.json()["pause_collection"] == {"behavior": "void", "resumes_at": resumes_at}

    resumed = await api.post(path + "/resume", json={})
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["status"], resumed.json()["pause_collection"]) == ("active", None)

    again = await api.post(path + "/resume")
    assert error(again) == (409, "subscription_state_invalid", None)


@pytest.mark.parametrize(
    "resumes_at", ["2026-04-01", 10**20, -1, 1.5, True, 1_700_000_000], ids=str
)
async def test_a_bad_resume_date_is_400_and_pauses_nothing(
    api: httpx.AsyncClient, merchant: World, resumes_at: object
) -> None:
    sub = await merchant.subscribe(await merchant.price())

    response = await api.post(
        f"/v1/subscriptions/{sub.subscription_id}/pause", json={"resumes_at": resumes_at}
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "resumes_at"
    assert (await merchant.subscription(sub.subscription_id)).status is S.ACTIVE


async def test_preview_change(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    cheaper = await merchant.price(1500)
    merchant.clock.advance(timedelta(days=10))

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change",
        params={"price": cheaper, "proration_behavior": "create_prorations"},
    )

    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["object"] == "subscription_change_preview"
    assert [line["amount"] for line in preview["lines"]] == [-2033, 1016]
    assert (preview["proration_amount"], preview["amount_due_now"]) == (-1017, 0)
    assert preview["next_invoice"]["amount_due"] == 483
    assert preview["proration_date"] == to_unix(merchant.clock.now())


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (400, "parameter_missing", "price")),
        ({"price": "price_doesnotexist"}, (404, "resource_missing", "price")),
        ({"price": "x", "proration_behavior": "sometimes"}, (400, "parameter_invalid", None)),
    ],
)
async def test_preview_change_refusals(
    api: httpx.AsyncClient,
    merchant: World,
    params: dict[str, str],
    expected: tuple[int, str, str | None],
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change", params=params
    )

    status, code, param = error(response)
    assert (status, code) == expected[:2]
    if expected[2] is not None:
        assert param == expected[2]


async def test_preview_of_another_interval_tells_a_new_permission_and_a_new_schedule(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    weekly = await merchant.price(500, interval=Interval.WEEK)
    now = to_unix(merchant.clock.now())

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change",
        params={"price": weekly, "proration_behavior": "none"},
    )

    assert response.status_code == 200, response.text
    preview = response.json()
    assert (preview["requires_new_permission"], preview["new_permission_cap"]) == (True, 500)
    assert preview["resets_billing_anchor"] is True
    # The new first week is invoiced at once (no credit with `none`); the next is a week later.
    assert (preview["lines"], preview["amount_due_now"]) == ([], 500)
    week = 7 * 86_400
    assert preview["next_invoice"] == {
        "period_start": now + week,
        "period_end": now + 2 * week,
        "amount_due": 500,
    }
    assert (await merchant.subscription(sub.subscription_id)).pending_price_id is None


async def test_preview_of_a_dearer_price_tells_a_new_permission_is_needed(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    dearer = await merchant.price(5000)

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change",
        params={"price": dearer, "proration_behavior": "none"},
    )

    assert response.status_code == 200, response.text
    preview = response.json()
    assert (preview["requires_new_permission"], preview["new_permission_cap"]) == (True, 5000)
    assert preview["next_invoice"]["amount_due"] == 5000
    assert (await merchant.subscription(sub.subscription_id)).pending_price_id is None


async def test_change_the_price(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    cheaper = await merchant.price(1500)
    merchant.clock.advance(timedelta(days=10))

    response = await api.post(
        f"/v1/subscriptions/{sub.subscription_id}",
        json={"price": cheaper, "metadata": {"plan": "lite"}},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["price"], body["proration_balance"], body["metadata"]) == (
        cheaper,
        -1017,
        {"plan": "lite"},
    )


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("POST", ""), ("DELETE", ""), ("POST", "/cancel"), ("POST", "/pause"), ("POST", "/resume")],
)
async def test_an_unknown_subscription_is_404(
    api: httpx.AsyncClient, method: str, suffix: str
) -> None:
    response = await api.request(method, f"/v1/subscriptions/sub_nothere{suffix}", json={})

    assert error(response) == (404, "resource_missing", "id")


async def test_a_trialing_subscription_shows_its_trial(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(trial_period_days=7))

    body = (await api.get(f"/v1/subscriptions/{sub.subscription_id}")).json()

    now = to_unix(merchant.clock.now())
    assert body["status"] == "trialing"
    assert (body["trial_start"], body["trial_end"]) == (now, now + 7 * 86_400)
    assert body["current_period_end"] == body["trial_end"]
    assert body["next_payment_attempt"] is None
