"""Workspaces, members and invitations over the API, as signed-in accounts use them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models.api_key import ApiKey
from cyphera.models.audit_entry import AuditEntry
from cyphera.models.member import Member, MemberRole
from tests.auth.signin import join, owner_of_new_workspace, sign_in


async def _members(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str
) -> dict[str, MemberRole]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(Member).where(Member.workspace_id == workspace_id))
        return {m.id: m.role for m in rows.all()}


async def test_creating_a_workspace_makes_the_creator_its_owner(
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner = await sign_in(client)

    created = await client.post("/v1/workspaces", json={"name": " Acme "}, headers=owner.headers())
    listed = await client.get("/v1/workspaces", headers=owner.headers())
    members = await client.get("/v1/members", headers=owner.headers(created.json()["id"]))

    assert created.status_code == 200
    assert created.json() == {
        "id": created.json()["id"],
        "object": "workspace",
        "created": to_unix(api_clock.now()),
        "name": "Acme",
        "role": "owner",
    }
    assert listed.json()["data"] == [created.json()]
    assert [(m["account"]["id"], m["role"]) for m in members.json()["data"]] == [
        (owner.account_id, "owner")
    ]
    async with sessionmaker() as session:
        keys = await session.scalar(select(func.count()).select_from(ApiKey))
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "workspace.created")
        )
    assert keys == 0  # keys are created on purpose, with /v1/api_keys
    assert entry is not None
    assert (entry.actor_id, entry.workspace_id, entry.object_id) == (
        owner.account_id,
        created.json()["id"],
        created.json()["id"],
    )


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "   "}, {"name": 1}, {"name": "x" * 201}]
)
async def test_bad_workspace_names_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    owner = await sign_in(client)

    response = await client.post("/v1/workspaces", json=body, headers=owner.headers())

    assert response.status_code == 400
    assert (await client.get("/v1/workspaces", headers=owner.headers())).json()["data"] == []


async def test_workspace_header_is_required_and_checked_against_membership(
    client: httpx.AsyncClient,
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    stranger = await sign_in(client)

    missing = await client.get("/v1/members", headers=owner.headers())
    not_member = await client.get("/v1/members", headers=stranger.headers(workspace_id))
    nonexistent = await client.get("/v1/members", headers=owner.headers("ws_" + "x" * 24))
    garbage = await client.get("/v1/members", headers=owner.headers("'; drop table"))

    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "type": "invalid_request_error",
        "code": "workspace_missing",
        "message": missing.json()["error"]["message"],
        "param": "Cyphera-Workspace",
    }
    for response in (not_member, nonexistent, garbage):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
        assert response.json()["error"]["param"] == "Cyphera-Workspace"
    # Same answer for a workspace that exists and one that does not: nothing to probe.
    assert not_member.json()["error"]["message"].startswith("No such workspace")


async def test_invitation_to_an_address_is_accepted_by_that_wallet_only(
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    invitee, intruder = await sign_in(client), await sign_in(client)
    invited = await client.post(
        "/v1/invitations",
        json={"address": invitee.wallet.address.lower(), "role": "developer"},
        headers=owner.headers(workspace_id),
    )
    token = invited.json()["token"]

    stolen = await client.post(
        "/v1/invitations/accept", json={"token": token}, headers=intruder.headers()
    )
    accepted = await client.post(
        "/v1/invitations/accept", json={"token": token}, headers=invitee.headers()
    )
    reused = await client.post(
        "/v1/invitations/accept", json={"token": token}, headers=invitee.headers()
    )
    listed = await client.get("/v1/invitations", headers=owner.headers(workspace_id))

    assert invited.status_code == 200
    assert invited.json() == {
        "id": invited.json()["id"],
        "object": "invitation",
        "address": invitee.wallet.address,
        "created": to_unix(api_clock.now()),
        "email": None,
        "expires": to_unix(api_clock.now() + timedelta(days=7)),
        "role": "developer",
        "status": "pending",
        "token": token,
    }
    assert stolen.status_code == 403
    assert stolen.json()["error"]["code"] == "invitation_address_mismatch"
    assert accepted.status_code == 200
    assert accepted.json()["id"] == workspace_id
    assert accepted.json()["role"] == "developer"
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "invitation_used"
    assert [(i["status"], i["token"]) for i in listed.json()["data"]] == [("accepted", None)]
    assert sorted((await _members(sessionmaker, workspace_id)).values()) == [
        MemberRole.DEVELOPER,
        MemberRole.OWNER,
    ]
    assert (
        await client.get("/v1/members", headers=intruder.headers(workspace_id))
    ).status_code == 404


async def test_email_invitation_is_accepted_with_its_token(client: httpx.AsyncClient) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    invitee = await sign_in(client)
    invited = await client.post(
        "/v1/invitations",
        json={"email": " Dev@Example.COM ", "role": "viewer"},
        headers=owner.headers(workspace_id),
    )

    accepted = await client.post(
        "/v1/invitations/accept", json={"token": invited.json()["token"]}, headers=invitee.headers()
    )

    assert invited.json()["email"] == "dev@example.com"
    assert accepted.status_code == 200
    assert accepted.json()["role"] == "viewer"


async def test_expired_revoked_and_unknown_invitations_are_refused(
    client: httpx.AsyncClient,
    api_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    headers = owner.headers(workspace_id)
    expiring = await client.post(
        "/v1/invitations", json={"email": "a@example.com", "role": "viewer"}, headers=headers
    )
    revoked = await client.post(
        "/v1/invitations", json={"email": "b@example.com", "role": "viewer"}, headers=headers
    )
    revoke = await client.post(f"/v1/invitations/{revoked.json()['id']}/revoke", headers=headers)
    api_clock.advance(timedelta(days=7))
    invitee = await sign_in(client)
    headers = (await sign_in(client, owner.wallet)).headers(workspace_id)

    late = await client.post(
        "/v1/invitations/accept",
        json={"token": expiring.json()["token"]},
        headers=invitee.headers(),
    )
    cancelled = await client.post(
        "/v1/invitations/accept", json={"token": revoked.json()["token"]}, headers=invitee.headers()
    )
    unknown = await client.post(
        "/v1/invitations/accept", json={"token": "invite_" + "a" * 32}, headers=invitee.headers()
    )
    statuses = await client.get("/v1/invitations", headers=headers)

    assert revoke.json()["status"] == "revoked"
    assert (late.status_code, late.json()["error"]["code"]) == (409, "invitation_expired")
    assert (cancelled.status_code, cancelled.json()["error"]["code"]) == (409, "invitation_revoked")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "resource_missing")
    assert {i["id"]: i["status"] for i in statuses.json()["data"]} == {
        expiring.json()["id"]: "expired",
        revoked.json()["id"]: "revoked",
    }
    assert len(await _members(sessionmaker, workspace_id)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"role": "viewer"},
        {
            "role": "viewer",
            "email": "a@example.com",
            "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        },
        {"role": "viewer", "email": "not-an-email"},
        {"role": "viewer", "address": "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
        {"role": "viewer", "address": "0x" + "0" * 40},
        {"role": "superuser", "email": "a@example.com"},
        {"role": "viewer", "email": "a@example.com", "extra": True},
    ],
)
async def test_bad_invitations_are_refused(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)

    response = await client.post("/v1/invitations", json=body, headers=owner.headers(workspace_id))

    assert response.status_code == 400, response.text
    listed = await client.get("/v1/invitations", headers=owner.headers(workspace_id))
    assert listed.json()["data"] == []


async def test_inviting_a_member_again_is_a_conflict(client: httpx.AsyncClient) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    member, _ = await join(client, owner, workspace_id, "viewer")

    response = await client.post(
        "/v1/invitations",
        json={"address": member.wallet.address, "role": "admin"},
        headers=owner.headers(workspace_id),
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "member_exists"


async def test_accepting_while_already_a_member_is_a_conflict(client: httpx.AsyncClient) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    invited = await client.post(
        "/v1/invitations",
        json={"email": "me@example.com", "role": "admin"},
        headers=owner.headers(workspace_id),
    )

    response = await client.post(
        "/v1/invitations/accept", json={"token": invited.json()["token"]}, headers=owner.headers()
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "member_exists"


async def test_role_change_is_audited_with_both_roles(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    _, member_id = await join(client, owner, workspace_id, "viewer")

    response = await client.post(
        f"/v1/members/{member_id}", json={"role": "admin"}, headers=owner.headers(workspace_id)
    )

    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    async with sessionmaker() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "member.role_updated")
        )
    assert entry is not None
    assert (entry.actor_id, entry.workspace_id, entry.object_id, entry.details) == (
        owner.account_id,
        workspace_id,
        member_id,
        {"previous_role": "viewer", "role": "admin"},
    )
    assert entry.request_id == response.headers["x-request-id"]


async def test_the_last_owner_can_be_neither_demoted_nor_removed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    headers = owner.headers(workspace_id)
    own_id = (await client.get("/v1/members", headers=headers)).json()["data"][0]["id"]

    demote = await client.post(f"/v1/members/{own_id}", json={"role": "admin"}, headers=headers)
    leave = await client.delete(f"/v1/members/{own_id}", headers=headers)
    second, second_id = await join(client, owner, workspace_id, "owner")
    demote_now = await client.post(f"/v1/members/{own_id}", json={"role": "admin"}, headers=headers)
    second_leaves_last = await client.delete(
        f"/v1/members/{second_id}", headers=second.headers(workspace_id)
    )

    for refused in (demote, leave):
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "last_owner"
    assert demote_now.status_code == 200
    assert second_leaves_last.status_code == 409
    assert await _members(sessionmaker, workspace_id) == {
        own_id: MemberRole.ADMIN,
        second_id: MemberRole.OWNER,
    }


async def test_any_member_may_leave(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    viewer, viewer_id = await join(client, owner, workspace_id, "viewer")

    left = await client.delete(f"/v1/members/{viewer_id}", headers=viewer.headers(workspace_id))
    after = await client.get("/v1/members", headers=viewer.headers(workspace_id))

    assert left.status_code == 200
    assert left.json() == {"id": viewer_id, "object": "member", "deleted": True}
    assert after.status_code == 404
    assert viewer_id not in await _members(sessionmaker, workspace_id)
    assert (await client.get("/v1/workspaces", headers=viewer.headers())).json()["data"] == []


async def test_members_are_paged(client: httpx.AsyncClient, api_clock: FrozenClock) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    joined = []
    for _ in range(3):
        api_clock.advance(timedelta(seconds=1))
        joined.append((await join(client, owner, workspace_id, "viewer"))[1])
    headers = owner.headers(workspace_id)

    first = await client.get("/v1/members?limit=2", headers=headers)
    rest = await client.get(
        f"/v1/members?limit=2&starting_after={first.json()['data'][-1]['id']}", headers=headers
    )

    assert [m["id"] for m in first.json()["data"]] == [joined[2], joined[1]]
    assert first.json()["has_more"] is True
    assert [(m["id"], m["role"]) for m in rest.json()["data"]] == [
        (joined[0], "viewer"),
        (rest.json()["data"][1]["id"], "owner"),
    ]
    assert rest.json()["has_more"] is False


async def test_workspaces_are_paged_and_only_the_accounts_own(
    client: httpx.AsyncClient, api_clock: FrozenClock
) -> None:
    # Given an account in three workspaces, and another account's workspace
    owner = await sign_in(client)
    created = []
    for name in ("One", "Two", "Three"):
        api_clock.advance(timedelta(seconds=1))
        response = await client.post("/v1/workspaces", json={"name": name}, headers=owner.headers())
        created.append(response.json()["id"])
    _, foreign = await owner_of_new_workspace(client, name="Theirs")

    # When they are listed two at a time, and with the other account's workspace as cursor
    first = await client.get("/v1/workspaces?limit=2", headers=owner.headers())
    rest = await client.get(
        f"/v1/workspaces?limit=2&starting_after={first.json()['data'][-1]['id']}",
        headers=owner.headers(),
    )
    back = await client.get(f"/v1/workspaces?ending_before={created[0]}", headers=owner.headers())
    probe = await client.get(f"/v1/workspaces?starting_after={foreign}", headers=owner.headers())

    # Then newest first, in pages, and the foreign workspace is unknown to this account
    assert [w["name"] for w in first.json()["data"]] == ["Three", "Two"]
    assert first.json()["has_more"] is True
    assert [w["id"] for w in rest.json()["data"]] == [created[0]]
    assert rest.json()["has_more"] is False
    assert [w["id"] for w in back.json()["data"]] == [created[2], created[1]]
    assert probe.status_code == 404
    assert probe.json()["error"]["param"] == "starting_after"


async def test_session_requests_are_idempotent_per_account(client: httpx.AsyncClient) -> None:
    # Given a signed-in account, and another one using the same Idempotency-Key
    owner = await sign_in(client)
    other = await sign_in(client)
    key = {"Idempotency-Key": "create-acme-1"}

    # When the account creates a workspace and retries; then reuses the key for another name
    first = await client.post(
        "/v1/workspaces", json={"name": "Acme"}, headers=owner.headers() | key
    )
    retry = await client.post(
        "/v1/workspaces", json={"name": "Acme"}, headers=owner.headers() | key
    )
    reused = await client.post(
        "/v1/workspaces", json={"name": "Other"}, headers=owner.headers() | key
    )
    theirs = await client.post(
        "/v1/workspaces", json={"name": "Acme"}, headers=other.headers() | key
    )

    # Then the retry replays the first workspace, the reuse is refused, and keys are per account
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert theirs.status_code == 200
    assert theirs.json()["id"] != first.json()["id"]
    listed = await client.get("/v1/workspaces", headers=owner.headers())
    assert [w["id"] for w in listed.json()["data"]] == [first.json()["id"]]


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first, workspace_id = await owner_of_new_workspace(client)
    first_id = (await client.get("/v1/members", headers=first.headers(workspace_id))).json()[
        "data"
    ][0]["id"]
    second, second_id = await join(client, first, workspace_id, "owner")

    responses = await asyncio.gather(
        client.post(
            f"/v1/members/{second_id}", json={"role": "admin"}, headers=first.headers(workspace_id)
        ),
        client.post(
            f"/v1/members/{first_id}", json={"role": "admin"}, headers=second.headers(workspace_id)
        ),
    )

    assert sorted(r.status_code for r in responses) == [200, 403]
    roles = sorted((await _members(sessionmaker, workspace_id)).values())
    assert roles == [MemberRole.ADMIN, MemberRole.OWNER]
