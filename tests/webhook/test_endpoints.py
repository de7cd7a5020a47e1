from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.config import DEV_ENCRYPTION_KEY
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.api_key import ApiKeyKind
from cyphera.models.audit_entry import AuditEntry
from cyphera.models.event import Event
from cyphera.models.idempotency_key import IdempotencyKey
from cyphera.models.mixins import Mode
from cyphera.models.webhook_endpoint import WebhookEndpoint
from cyphera.webhook.secrets import SecretBox
from cyphera.webhook.service import MAX_ENDPOINTS
from tests.fixtures.api import MakeApiKey, WorkspaceKeys

URL = "https://example.com/hooks"
CREATE = {"url": URL, "enabled_events": ["invoice.paid", "subscription.canceled"]}
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{44}$")


async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[WebhookEndpoint]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(WebhookEndpoint))).all())


async def test_create_returns_the_endpoint_with_its_secret_in_stripe_shape(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    created = await api.post(
        "/v1/webhook_endpoints",
        json=CREATE | {"description": "Fulfilment", "metadata": {"team": "billing"}},
    )
    endpoint = created.json()

    assert created.status_code == 200
    assert endpoint == {
        "id": endpoint["id"],
        "object": "webhook_endpoint",
        "created": to_unix(api_clock.now()),
        "description": "Fulfilment",
        "enabled_events": ["invoice.paid", "subscription.canceled"],
        "livemode": False,
        "metadata": {"team": "billing"},
        "previous_secret_expires": None,
        "secret": endpoint["secret"],
        "status": "enabled",
        "url": URL,
    }
    assert re.fullmatch(r"we_[A-Za-z0-9]{24}", endpoint["id"])
    assert SECRET.fullmatch(endpoint["secret"])


async def test_the_secret_is_never_shown_again(api: httpx.AsyncClient) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()

    retrieved = await api.get(f"/v1/webhook_endpoints/{created['id']}")
    listed = await api.get("/v1/webhook_endpoints")
    updated = await api.post(
        f"/v1/webhook_endpoints/{created['id']}", json={"description": "Renamed"}
    )

    without_secret = {k: v for k, v in created.items() if k != "secret"}
    assert retrieved.status_code == 200
    assert retrieved.json() == without_secret
    assert listed.json()["data"] == [without_secret]
    assert updated.json() == without_secret | {"description": "Renamed"}
    for response in (retrieved, listed, updated):
        assert '"secret"' not in response.text
        assert "whsec_" not in response.text


async def test_update_changes_only_what_is_given(
    api: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    created = (
        await api.post(
            "/v1/webhook_endpoints",
            json=CREATE | {"description": "Old", "metadata": {"a": "1", "b": "2"}},
        )
    ).json()
    path = f"/v1/webhook_endpoints/{created['id']}"

    disabled = await api.post(
        path,
        json={
            "url": "https://example.org/new",
            "enabled_events": ["*", "*"],
            "metadata": {"a": "", "c": "3"},
            "disabled": True,
        },
    )
    cleared = await api.post(path, json={"description": None})
    enabled = await api.post(path, json={"disabled": False})
    empty = await api.post(path)

    assert disabled.status_code == 200
    assert disabled.json() | {"description": "Old"} == disabled.json()
    assert disabled.json()["url"] == "https://example.org/new"
    assert disabled.json()["enabled_events"] == ["*"]
    assert disabled.json()["metadata"] == {"b": "2", "c": "3"}
    assert disabled.json()["status"] == "disabled"
    assert cleared.json()["description"] is None
    assert cleared.json()["status"] == "disabled"
    assert enabled.json()["status"] == "enabled"
    assert empty.status_code == 200
    assert empty.json() == enabled.json()


async def test_a_null_update_field_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()

    for field in ("url", "enabled_events", "metadata", "disabled"):
        response = await api.post(f"/v1/webhook_endpoints/{created['id']}", json={field: None})

        assert response.status_code == 400, field
        assert response.json()["error"]["param"] == field
    [row] = await _rows(sessionmaker)
    assert (row.url, row.enabled_events) == (URL, CREATE["enabled_events"])


async def test_delete_hides_the_endpoint_but_keeps_the_row(
    api: httpx.AsyncClient, api_clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    kept = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()
    gone = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()

    deleted = await api.delete(f"/v1/webhook_endpoints/{gone['id']}")
    again = await api.delete(f"/v1/webhook_endpoints/{gone['id']}")
    retrieved = await api.get(f"/v1/webhook_endpoints/{gone['id']}")
    updated = await api.post(f"/v1/webhook_endpoints/{gone['id']}", json={"disabled": True})
    rotated = await api.post(f"/v1/webhook_endpoints/{gone['id']}/rotate_secret")
    listed = await api.get("/v1/webhook_endpoints")

    assert deleted.status_code == 200
    assert deleted.json() == {"id": gone["id"], "object": "webhook_endpoint", "deleted": True}
    for missing in (again, retrieved, updated, rotated):
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "resource_missing"
    assert [e["id"] for e in listed.json()["data"]] == [kept["id"]]
    rows = {row.id: row for row in await _rows(sessionmaker)}
    assert rows[gone["id"]].deleted_at == api_clock.now()
    assert rows[gone["id"]].status.value == "enabled"
    assert rows[kept["id"]].deleted_at is None


async def test_list_pages_newest_first(api: httpx.AsyncClient, api_clock: FrozenClock) -> None:
    ids = []
    for _ in range(5):
        api_clock.advance(timedelta(seconds=1))
        ids.insert(0, (await api.post("/v1/webhook_endpoints", json=CREATE)).json()["id"])

    first = (await api.get("/v1/webhook_endpoints", params={"limit": 2})).json()
    second = (
        await api.get(
            "/v1/webhook_endpoints", params={"limit": 2, "starting_after": first["data"][-1]["id"]}
        )
    ).json()
    last = (
        await api.get("/v1/webhook_endpoints", params={"limit": 2, "starting_after": ids[3]})
    ).json()
    before = (
        await api.get("/v1/webhook_endpoints", params={"limit": 2, "ending_before": ids[2]})
    ).json()

    assert first["object"] == "list"
    assert first["url"] == "/v1/webhook_endpoints"
    assert [e["id"] for e in first["data"]] == ids[:2]
    assert first["has_more"] is True
    assert [e["id"] for e in second["data"]] == ids[2:4]
    assert second["has_more"] is True
    assert [e["id"] for e in last["data"]] == ids[4:]
    assert last["has_more"] is False
    assert [e["id"] for e in before["data"]] == ids[:2]


async def test_an_unknown_event_type_is_refused_and_nothing_is_created(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    unknown = await api.post(
        "/v1/webhook_endpoints",
        json={"url": URL, "enabled_events": ["invoice.paid", "invoice.exploded"]},
    )
    empty = await api.post("/v1/webhook_endpoints", json={"url": URL, "enabled_events": []})

    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "invalid_event_type"
    assert unknown.json()["error"]["param"] == "enabled_events"
    assert "invoice.exploded" in unknown.json()["error"]["message"]
    assert empty.status_code == 400
    assert empty.json()["error"]["param"] == "enabled_events"
    assert await _rows(sessionmaker) == []


async def test_an_unknown_event_type_in_an_update_changes_nothing(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()

    response = await api.post(
        f"/v1/webhook_endpoints/{created['id']}",
        json={"enabled_events": ["nope"], "description": "changed"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event_type"
    [row] = await _rows(sessionmaker)
    assert (row.enabled_events, row.description) == (CREATE["enabled_events"], None)


async def test_at_most_sixteen_endpoints_per_workspace_and_mode(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    created = [(await api.post("/v1/webhook_endpoints", json=CREATE)).json() for _ in range(16)]

    over = await api.post("/v1/webhook_endpoints", json=CREATE)
    await api.delete(f"/v1/webhook_endpoints/{created[0]['id']}")
    after_delete = await api.post("/v1/webhook_endpoints", json=CREATE)
    live_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)
    live = await client.post(
        "/v1/webhook_endpoints", json=CREATE, headers={"Authorization": f"Bearer {live_key}"}
    )

    assert MAX_ENDPOINTS == 16
    assert over.status_code == 400
    assert over.json()["error"]["code"] == "webhook_endpoint_limit"
    assert after_delete.status_code == 200
    assert live.status_code == 200
    assert len(await _rows(sessionmaker)) == 18


async def test_a_read_only_key_reads_but_cannot_write(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_api_key: MakeApiKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()
    restricted = await make_api_key(workspace.workspace_id, kind=ApiKeyKind.RESTRICTED)
    headers = {"Authorization": f"Bearer {restricted}"}
    path = f"/v1/webhook_endpoints/{created['id']}"

    read = await client.get(path, headers=headers)
    writes = [
        await client.post("/v1/webhook_endpoints", json=CREATE, headers=headers),
        await client.post(path, json={"disabled": True}, headers=headers),
        await client.post(path + "/rotate_secret", headers=headers),
        await client.delete(path, headers=headers),
    ]

    assert read.status_code == 200
    for refused in writes:
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"
        assert "whsec_" not in refused.text
    [row] = await _rows(sessionmaker)
    assert (row.status.value, row.deleted_at, row.previous_secret_ciphertext) == (
        "enabled",
        None,
        None,
    )


async def test_the_secret_is_stored_encrypted(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()

    async with sessionmaker() as session:
        raw = (
            await session.execute(
                select(WebhookEndpoint.__table__).where(WebhookEndpoint.id == created["id"])
            )
        ).one()

    stored = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in raw)
    secret = created["secret"].encode()
    assert secret not in stored
    assert secret.removeprefix(b"whsec_") not in stored
    box = SecretBox(DEV_ENCRYPTION_KEY)
    assert box.decrypt(raw.secret_ciphertext, endpoint_id=created["id"]) == created["secret"]


async def test_no_secret_reaches_the_audit_log_or_events(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    created = (await api.post("/v1/webhook_endpoints", json=CREATE)).json()
    rotated = (await api.post(f"/v1/webhook_endpoints/{created['id']}/rotate_secret")).json()
    audit_log = await api.get("/v1/audit_log", params={"limit": 100})

    async with sessionmaker() as session:
        entries = list((await session.scalars(select(AuditEntry))).all())
        events = list((await session.scalars(select(Event))).all())
    dumped = repr([vars(e) for e in entries]) + repr([vars(e) for e in events]) + audit_log.text
    assert sorted((e.action, e.object_type, e.object_id) for e in entries) == sorted(
        [
            ("POST /v1/webhook_endpoints", "webhook_endpoint", created["id"]),
            (
                "POST /v1/webhook_endpoints/{webhook_endpoint_id}/rotate_secret",
                "webhook_endpoint",
                created["id"],
            ),
        ]
    )
    assert all(e.details == {} for e in entries)
    for secret in (created["secret"], rotated["secret"]):
        assert secret not in dumped
    assert "whsec_" not in dumped


async def test_a_retried_create_with_the_same_idempotency_key_makes_one_endpoint(
    api: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Idempotency-Key": "create-hook-1"}

    first = await api.post("/v1/webhook_endpoints", json=CREATE, headers=headers)
    second = await api.post("/v1/webhook_endpoints", json=CREATE, headers=headers)

    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert len(await _rows(sessionmaker)) == 1
    async with sessionmaker() as session:
        assert len((await session.scalars(select(IdempotencyKey))).all()) == 1
