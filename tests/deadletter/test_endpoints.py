"""``/v1/admin/dead_letters``: the operator token only, in constant time; 404 when no token is set;
retry and discard audited; 404 and 409 with stable codes, changing nothing."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.api.app import create_app
from cyphera.config import DatabaseSettings, Environment, Settings
from cyphera.kit.clock import FrozenClock
from cyphera.models.audit_entry import ActorType
from tests.deadletter.helpers import (
    FLAKY_TASK,
    audit_entries,
    dead_letters,
    failed_job,
    job_statuses,
)
from tests.fixtures.api import WorkspaceKeys, serve

ADMIN_TOKEN = "admin-token-for-tests-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Cyphera-Operator": "dana"}
LIST = "/v1/admin/dead_letters"


@pytest.fixture
def api_settings(database_settings: DatabaseSettings) -> Settings:
    return Settings(
        environment=Environment.TEST, database=database_settings, admin_token=SecretStr(ADMIN_TOKEN)
    )


async def test_list_show_and_retry_with_the_operator_token(
    client: httpx.AsyncClient, database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    letter = await failed_job(database_url, sessionmaker, "ord_1")

    listed = await client.get(LIST, params={"status": "open"}, headers=ADMIN)
    shown = await client.get(f"{LIST}/{letter.id}", headers=ADMIN)
    retried = await client.post(f"{LIST}/{letter.id}/retry", headers=ADMIN)
    again = await client.post(f"{LIST}/{letter.id}/retry", headers=ADMIN)

    assert listed.status_code == 200
    assert [(d["id"], d["traceback"]) for d in listed.json()["data"]] == [(letter.id, None)]
    assert shown.status_code == 200
    body = shown.json()
    assert (body["object"], body["task"], body["args"], body["attempts"]) == (
        "dead_letter",
        FLAKY_TASK,
        {"order_ref": "ord_1"},
        3,
    )
    assert body["error"] == {"type": letter.error_type, "message": "cannot process ord_1 yet"}
    assert body["traceback"] == letter.traceback
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["resolved_by"]) == ("retried", "dana")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "dead_letter_resolved"
    jobs = await job_statuses(sessionmaker, FLAKY_TASK)
    assert [status for _, status, _ in jobs] == ["failed", "todo"]  # one retry job, not two
    [entry] = await audit_entries(sessionmaker)
    assert (entry.actor_type, entry.actor_id, entry.action, entry.object_id) == (
        ActorType.OPERATOR,
        "dana",
        "dead_letter.retried",
        letter.id,
    )
    assert entry.details["retry_job_id"] == jobs[1][0]


async def test_discard_takes_a_reason_and_is_audited(
    client: httpx.AsyncClient, database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    letter = await failed_job(database_url, sessionmaker, "ord_1")

    missing_reason = await client.post(f"{LIST}/{letter.id}/discard", json={}, headers=ADMIN)
    discarded = await client.post(
        f"{LIST}/{letter.id}/discard", json={"reason": "duplicate"}, headers=ADMIN
    )

    assert missing_reason.status_code == 400
    assert discarded.status_code == 200
    assert (discarded.json()["status"], discarded.json()["reason"]) == ("discarded", "duplicate")
    [entry] = await audit_entries(sessionmaker)
    assert (entry.action, entry.details["reason"]) == ("dead_letter.discarded", "duplicate")


async def test_an_unknown_id_is_404(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get(f"{LIST}/dl_missing", headers=ADMIN),
        await client.post(f"{LIST}/dl_missing/retry", headers=ADMIN),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"


async def test_no_token_a_wrong_one_or_a_workspace_key_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    letter = await failed_job(database_url, sessionmaker, "ord_1")
    retry = f"{LIST}/{letter.id}/retry"

    answers = [
        (await client.post(retry), "admin_token_missing", 401),
        (
            await client.post(retry, headers={"Authorization": "Basic abc"}),
            "admin_token_missing",
            401,
        ),
        (
            await client.post(retry, headers={"Authorization": "Bearer wrong"}),
            "admin_token_invalid",
            403,
        ),
        (await client.post(retry, headers=workspace.headers), "admin_token_invalid", 403),
        (
            await client.get(LIST, headers={"Authorization": "Bearer " + ADMIN_TOKEN[:-1]}),
            "admin_token_invalid",
            403,
        ),
    ]

    assert [(r.status_code, r.json()["error"]["code"]) for r, _, _ in answers] == [
        (status, code) for _, code, status in answers
    ]
    assert [d.status.value for d in await dead_letters(sessionmaker)] == ["open"]
    assert [status for _, status, _ in await job_statuses(sessionmaker, FLAKY_TASK)] == ["failed"]
    assert await audit_entries(sessionmaker) == []


async def test_without_a_configured_token_the_admin_api_does_not_exist(
    database_settings: DatabaseSettings, api_clock: FrozenClock
) -> None:
    app = create_app(
        Settings(environment=Environment.TEST, database=database_settings), clock=api_clock
    )
    with serve(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            response = await http.get(LIST, headers=ADMIN)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "admin_api_disabled"


def test_a_short_admin_token_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="CYPHERA_ADMIN_TOKEN must be at least 32 characters"):
        Settings(admin_token=SecretStr("short"))
