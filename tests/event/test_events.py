from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.kit.ids import new_id
from cyphera.models import Event
from cyphera.models.mixins import Mode
from tests.fixtures.api import WorkspaceKeys
from tests.permission.grants import grant_permission, public_registry

ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _events_at(
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace_id: str,
    entries: list[tuple[str, datetime]],
    mode: Mode = Mode.TEST,
) -> list[str]:
    """Events of the given types at the given times, written directly; their ids in order."""
    ids = []
    async with transaction(sessionmaker) as session:
        for type_, at in entries:
            event = Event(
                id=new_id("evt"),
                workspace_id=workspace_id,
                mode=mode,
                type=type_,
                object_id=new_id("obj"),
                data={"n": len(ids)},
                created_at=at,
                updated_at=at,
            )
            session.add(event)
            ids.append(event.id)
    return ids


async def test_the_events_of_the_flows_are_listed_newest_first_in_stripe_shape(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    # Given a customer made and changed through the API, and a permission granted as at checkout
    customer = (await api.post("/v1/customers", json={"address": ADDRESS})).json()
    await api.post(f"/v1/customers/{customer['id']}", json={"metadata": {"tier": "gold"}})
    async with transaction(sessionmaker) as session:
        grant = await grant_permission(
            session,
            workspace_id=workspace.workspace_id,
            network=public_registry().get("base-sepolia"),
            now=api_clock.now(),
        )

    # When the events are listed
    listed = (await api.get("/v1/events")).json()

    # Then every change is there, each about its object, newest first
    events = listed["data"]
    assert listed["object"] == "list"
    assert listed["url"] == "/v1/events"
    assert listed["has_more"] is False
    assert sorted((e["type"], e["data"]["object_id"]) for e in events) == sorted(
        [
            ("customer.created", customer["id"]),
            ("customer.updated", customer["id"]),
            ("customer.created", grant.permission.customer_id),
            ("permission.granted", grant.permission.id),
        ]
    )
    assert [e["created"] for e in events] == sorted((e["created"] for e in events), reverse=True)
    granted = next(e for e in events if e["type"] == "permission.granted")
    assert granted == {
        "id": granted["id"],
        "object": "event",
        "created": granted["created"],
        "data": {
            "object_id": grant.permission.id,
            "customer": grant.permission.customer_id,
            "network": "base-sepolia",
            "token": "USDC",
            "period_amount": "19990000",
            "period_seconds": 28 * 86_400,
            "delegation_hash": grant.permission.delegation_hash,
        },
        "livemode": False,
        "type": "permission.granted",
    }
    assert granted["id"].startswith("evt_")
    assert (await api.get(f"/v1/events/{granted['id']}")).json() == granted


async def test_list_filters_by_type_and_type_group(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], workspace: WorkspaceKeys
) -> None:
    created, paid, failed, customer = await _events_at(
        sessionmaker,
        workspace.workspace_id,
        [
            ("invoice.created", T0),
            ("invoice.paid", T0 + timedelta(seconds=1)),
            ("invoice.payment_failed", T0 + timedelta(seconds=2)),
            ("customer.created", T0 + timedelta(seconds=3)),
        ],
    )

    def ids(response: httpx.Response) -> list[str]:
        return [e["id"] for e in response.json()["data"]]

    assert ids(await api.get("/v1/events", params={"type": "invoice.paid"})) == [paid]
    assert ids(await api.get("/v1/events", params={"type": "invoice.*"})) == [failed, paid, created]
    assert ids(await api.get("/v1/events", params={"type": "invoice"})) == []
    # `%` and `_` are literal, not LIKE wildcards.
    assert ids(await api.get("/v1/events", params={"type": "%.*"})) == []
    assert ids(await api.get("/v1/events", params={"type": "invoice_*"})) == []
    assert ids(await api.get("/v1/events", params={"type": "customer.*"})) == [customer]


async def test_list_filters_by_creation_time_in_whole_seconds(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], workspace: WorkspaceKeys
) -> None:
    first, second, third = await _events_at(
        sessionmaker,
        workspace.workspace_id,
        [
            ("a.one", T0),
            ("a.two", T0 + timedelta(seconds=10, microseconds=500_000)),
            ("a.three", T0 + timedelta(seconds=20)),
        ],
    )
    t = to_unix(T0) + 10  # `second` shows as created at t

    async def ids(**params: int) -> list[str]:
        query = {f"created[{op}]": value for op, value in params.items()}
        response = await api.get("/v1/events", params=query)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"]]

    assert (await api.get("/v1/events")).json()["data"][1]["created"] == t
    assert await ids(gte=t) == [third, second]
    assert await ids(gt=t) == [third]
    assert await ids(lte=t) == [second, first]
    assert await ids(lt=t) == [first]
    assert await ids(gte=t, lte=t) == [second]
    assert await ids(gt=t, lt=t) == []
    assert await ids(gte=0, lte=253_402_300_799) == [third, second, first]
    assert await ids(gt=253_402_300_799) == []


async def test_pages_through_events(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], workspace: WorkspaceKeys
) -> None:
    ids = await _events_at(
        sessionmaker,
        workspace.workspace_id,
        [("x.happened", T0 + timedelta(seconds=i)) for i in range(5)],
    )
    newest_first = ids[::-1]

    first = (await api.get("/v1/events", params={"limit": 2})).json()
    rest = (
        await api.get("/v1/events", params={"limit": 3, "starting_after": newest_first[1]})
    ).json()
    back = (
        await api.get("/v1/events", params={"limit": 5, "ending_before": newest_first[2]})
    ).json()

    assert [e["id"] for e in first["data"]] == newest_first[:2]
    assert first["has_more"] is True
    assert [e["id"] for e in rest["data"]] == newest_first[2:]
    assert rest["has_more"] is False
    assert [e["id"] for e in back["data"]] == newest_first[:2]


async def test_events_of_one_transaction_list_in_the_order_they_were_written(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], workspace: WorkspaceKeys
) -> None:
    # Given four events written by one transaction at the same instant, as a checkout writes them
    types = ["customer.created", "subscription.created", "invoice.created", "payment.succeeded"]
    ids = await _events_at(sessionmaker, workspace.workspace_id, [(t, T0) for t in types])

    # When they are listed one by one, forwards and back
    forwards = [(await api.get("/v1/events", params={"limit": 1})).json()["data"][0]["id"]]
    while len(forwards) < len(ids):
        page = await api.get("/v1/events", params={"limit": 1, "starting_after": forwards[-1]})
        forwards.append(page.json()["data"][0]["id"])
    backwards = await api.get("/v1/events", params={"limit": 10, "ending_before": ids[0]})
    everything = await api.get("/v1/events", params={"limit": 10})

    # Then the order is the written one (newest first), whatever their random ids and equal times
    assert forwards == ids[::-1]
    assert [e["id"] for e in everything.json()["data"]] == ids[::-1]
    assert [e["type"] for e in everything.json()["data"]] == types[::-1]
    assert [e["id"] for e in backwards.json()["data"]] == ids[:0:-1]
    assert backwards.json()["has_more"] is False


async def test_events_of_the_other_mode_are_not_seen(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], workspace: WorkspaceKeys
) -> None:
    [live] = await _events_at(
        sessionmaker, workspace.workspace_id, [("customer.created", T0)], mode=Mode.LIVE
    )

    assert (await api.get("/v1/events")).json()["data"] == []
    assert (await api.get(f"/v1/events/{live}")).status_code == 404


async def test_an_unknown_event_is_404_resource_missing(api: httpx.AsyncClient) -> None:
    for event_id in ("evt_doesnotexist", "nonsense", "cus_abc", "evt_" + "x" * 70, "evt_a-b"):
        response = await api.get(f"/v1/events/{event_id}")

        assert response.status_code == 404, event_id
        assert response.json()["error"]["code"] == "resource_missing"
        assert response.json()["error"]["param"] == "id"


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"created[gte]": "-1"}, "parameter_invalid", "created[gte]"),
        ({"created[gte]": "253402300800"}, "parameter_invalid", "created[gte]"),
        ({"created[lt]": str(10**40)}, "parameter_invalid", "created[lt]"),
        ({"created[gt]": "yesterday"}, "parameter_invalid", "created[gt]"),
        ({"created[lte]": "1.5"}, "parameter_invalid", "created[lte]"),
        ({"created": "1767225600"}, "parameter_unknown", "created"),
        ({"created_gte": "1767225600"}, "parameter_unknown", "created_gte"),
        ({"type": "t" * 81}, "parameter_invalid", "type"),
        ({"type": ""}, "parameter_invalid", "type"),
        ({"types": "a"}, "parameter_unknown", "types"),
        ({"limit": "-3"}, "parameter_invalid", "limit"),
    ],
)
async def test_invalid_list_parameters_are_400(
    api: httpx.AsyncClient, params: dict[str, str], code: str, param: str
) -> None:
    response = await api.get("/v1/events", params=params)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["param"] == param
