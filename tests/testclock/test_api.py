"""``/v1/test_clocks``: test mode only, never in the past, forward only, one advance at a time,
another tenant's clock is not found."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.mixins import Mode
from tests.fixtures.api import MakeApiKey, MakeWorkspace, WorkspaceKeys

DAY = 86_400


async def _advance_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT args->>'test_clock_id' FROM procrastinate_jobs "
                "WHERE task_name = 'test_clock.advance' ORDER BY id"
            )
        )
        return [row[0] for row in rows]


async def _event_types(api: httpx.AsyncClient) -> list[str]:
    events = (await api.get("/v1/events", params={"limit": 100})).json()["data"]
    return sorted(e["type"] for e in events if e["type"].startswith("test_clock."))


async def test_create_retrieve_list_and_delete(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    now = to_unix(api_clock.now())
    # When a clock is created at the platform's now
    created = await api.post(
        "/v1/test_clocks", json={"frozen_time": now, "name": "Renewals", "metadata": {"k": "v"}}
    )

    # Then it is ready at that time
    assert created.status_code == 200, created.text
    clock = created.json()
    assert clock == {
        "id": clock["id"],
        "object": "test_clock",
        "created": now,
        "frozen_time": now,
        "livemode": False,
        "name": "Renewals",
        "status": "ready",
        "status_details": {},
        "metadata": {"k": "v"},
    }
    assert clock["id"].startswith("clock_")
    assert (await api.get(f"/v1/test_clocks/{clock['id']}")).json() == clock
    second = (await api.post("/v1/test_clocks", json={"frozen_time": now + DAY})).json()
    first_page = (await api.get("/v1/test_clocks", params={"limit": 1})).json()
    [first] = first_page["data"]
    next_page = (
        await api.get("/v1/test_clocks", params={"limit": 1, "starting_after": first["id"]})
    ).json()
    assert first_page["has_more"] is True
    assert {first["id"], *(c["id"] for c in next_page["data"])} == {clock["id"], second["id"]}
    assert next_page["has_more"] is False

    # When it is deleted
    deleted = await api.delete(f"/v1/test_clocks/{clock['id']}")

    # Then it is gone
    assert deleted.json() == {"id": clock["id"], "object": "test_clock", "deleted": True}
    assert (await api.get(f"/v1/test_clocks/{clock['id']}")).status_code == 404
    assert [c["id"] for c in (await api.get("/v1/test_clocks")).json()["data"]] == [second["id"]]
    assert (await api.delete(f"/v1/test_clocks/{clock['id']}")).status_code == 404
    assert await _event_types(api) == [
        "test_clock.created",
        "test_clock.created",
        "test_clock.deleted",
    ]


async def test_live_mode_and_bad_times_are_refused_and_create_nothing(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
) -> None:
    now = to_unix(api_clock.now())
    live_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)

    live = await client.post(
        "/v1/test_clocks",
        json={"frozen_time": now},
        headers={"Authorization": f"Bearer {live_key}"},
    )
    past = await api.post("/v1/test_clocks", json={"frozen_time": now - 3600})
    far = await api.post("/v1/test_clocks", json={"frozen_time": now + 4 * 366 * DAY})
    not_an_int = await api.post("/v1/test_clocks", json={"frozen_time": str(now)})
    huge = await api.post("/v1/test_clocks", json={"frozen_time": 2**62})

    assert (live.status_code, live.json()["error"]["code"]) == (400, "test_clock_live_mode")
    assert (past.status_code, past.json()["error"]["code"]) == (400, "frozen_time_invalid")
    assert past.json()["error"]["param"] == "frozen_time"
    assert (far.status_code, far.json()["error"]["code"]) == (400, "frozen_time_invalid")
    assert not_an_int.status_code == 400
    assert huge.status_code == 400
    assert (await api.get("/v1/test_clocks")).json()["data"] == []
    assert await _event_types(api) == []


async def test_advance_is_forward_bounded_and_one_at_a_time(
    api: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = to_unix(api_clock.now())
    clock = (await api.post("/v1/test_clocks", json={"frozen_time": now})).json()
    path = f"/v1/test_clocks/{clock['id']}/advance"

    # Backwards, to the same time, or more than 3 years ahead: refused, nothing queued
    for frozen_time in (now - 1, now, now + 1100 * DAY):
        refused = await api.post(path, json={"frozen_time": frozen_time})
        assert refused.status_code == 400, frozen_time
        assert refused.json()["error"]["code"] == "frozen_time_invalid"
    assert await _advance_jobs(sessionmaker) == []
    assert (await api.get(f"/v1/test_clocks/{clock['id']}")).json()["status"] == "ready"

    # A month ahead: advancing, with its job queued
    advancing = await api.post(path, json={"frozen_time": now + 30 * DAY})
    assert advancing.status_code == 200, advancing.text
    assert advancing.json()["status"] == "advancing"
    assert advancing.json()["frozen_time"] == now
    assert advancing.json()["status_details"] == {"target_frozen_time": str(now + 30 * DAY)}
    assert await _advance_jobs(sessionmaker) == [clock["id"]]

    # A second advance while the first runs: 409, nothing more queued
    again = await api.post(path, json={"frozen_time": now + 60 * DAY})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "test_clock_not_ready")
    assert await _advance_jobs(sessionmaker) == [clock["id"]]
    assert await _event_types(api) == ["test_clock.advancing", "test_clock.created"]


async def test_unknown_and_foreign_clocks_are_not_found(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    make_workspace: MakeWorkspace,
) -> None:
    now = to_unix(api_clock.now())
    other = await make_workspace("Other")
    foreign = (
        await client.post("/v1/test_clocks", json={"frozen_time": now}, headers=other.headers)
    ).json()["id"]

    for clock_id in ("clock_missing", foreign):
        responses = [
            await api.get(f"/v1/test_clocks/{clock_id}"),
            await api.delete(f"/v1/test_clocks/{clock_id}"),
            await api.post(f"/v1/test_clocks/{clock_id}/advance", json={"frozen_time": now + DAY}),
        ]
        assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
            (404, "resource_missing")
        ] * 3
        checkout = await api.post(
            "/v1/checkout/sessions",
            json={
                "price": "price_missing",
                "customer_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                "network": "local",
                "token": "USDC",
                "test_clock": clock_id,
            },
        )
        assert checkout.status_code == 404
        assert checkout.json()["error"]["code"] == "resource_missing"
        assert checkout.json()["error"]["param"] == "test_clock"

    still = (await client.get(f"/v1/test_clocks/{foreign}", headers=other.headers)).json()
    assert (still["status"], still["frozen_time"]) == ("ready", now)


async def test_checkout_with_a_test_clock_is_refused_in_live_mode(
    client: httpx.AsyncClient, workspace: WorkspaceKeys, make_api_key: MakeApiKey
) -> None:
    live_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)

    refused = await client.post(
        "/v1/checkout/sessions",
        json={
            "price": "price_missing",
            "customer_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "network": "base",
            "token": "USDC",
            "test_clock": "clock_anything",
        },
        headers={"Authorization": f"Bearer {live_key}"},
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "test_clock_live_mode"
