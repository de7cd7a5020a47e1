"""The role matrix, through the API: every management act, by every role; refused acts change nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from cyphera.auth.roles import ROLE_CAPABILITIES, Capability, key_capability, role_capability
from cyphera.models.member import MemberRole
from cyphera.models.mixins import Mode
from tests.auth.signin import SignedIn, join, owner_of_new_workspace


def test_the_policy_table() -> None:
    assert {role: set(caps) for role, caps in ROLE_CAPABILITIES.items()} == {
        MemberRole.VIEWER: {Capability.READ},
        MemberRole.DEVELOPER: {Capability.READ, Capability.MANAGE_TEST_KEYS},
        MemberRole.ADMIN: {
            Capability.READ,
            Capability.MANAGE_TEST_KEYS,
            Capability.MANAGE_LIVE_KEYS,
            Capability.MANAGE_MEMBERS,
            Capability.MANAGE_BILLING,
        },
        MemberRole.OWNER: set(Capability),
    }
    assert key_capability(Mode.TEST) is Capability.MANAGE_TEST_KEYS
    assert key_capability(Mode.LIVE) is Capability.MANAGE_LIVE_KEYS
    assert role_capability(MemberRole.VIEWER, MemberRole.ADMIN) is Capability.MANAGE_MEMBERS
    assert role_capability(MemberRole.ADMIN, MemberRole.OWNER) is Capability.MANAGE_OWNERS
    assert role_capability(MemberRole.OWNER) is Capability.MANAGE_OWNERS


@dataclass
class Team:
    client: httpx.AsyncClient
    owner: SignedIn
    actor: SignedIn
    workspace_id: str

    def as_owner(self) -> dict[str, str]:
        return self.owner.headers(self.workspace_id)

    def as_actor(self) -> dict[str, str]:
        return self.actor.headers(self.workspace_id)

    async def member(self, role: str) -> str:
        return (await join(self.client, self.owner, self.workspace_id, role))[1]

    async def key(self, mode: str) -> str:
        created = await self.client.post(
            "/v1/api_keys", json={"name": "k", "mode": mode}, headers=self.as_owner()
        )
        return str(created.json()["id"])

    async def invitation(self, role: str) -> str:
        created = await self.client.post(
            "/v1/invitations",
            json={"email": "x@example.com", "role": role},
            headers=self.as_owner(),
        )
        return str(created.json()["id"])

    async def state(self) -> object:
        """Everything the management acts can change, as the owner sees it."""
        views = []
        for path in ("/v1/members", "/v1/invitations", "/v1/api_keys"):
            response = await self.client.get(path + "?limit=100", headers=self.as_owner())
            views.append(response.json()["data"])
        return views


@dataclass(frozen=True)
class Act:
    """One management act: `setup` (done by the owner) makes its target; `perform` is the act."""

    perform: Callable[[Team, str], Awaitable[httpx.Response]]
    setup: Callable[[Team], Awaitable[str]] | None = None


def _get(path: str) -> Act:
    return Act(lambda t, _: t.client.get(path, headers=t.as_actor()))


def _post(
    path: str, body: dict[str, object] | None, setup: Callable[[Team], Awaitable[str]] | None = None
) -> Act:
    return Act(
        lambda t, target: t.client.post(
            path.format(target=target), json=body, headers=t.as_actor()
        ),
        setup,
    )


def _remove(role: str) -> Act:
    return Act(
        lambda t, target: t.client.delete(f"/v1/members/{target}", headers=t.as_actor()),
        lambda t: t.member(role),
    )


ACTS: dict[str, Act] = {
    "list members": _get("/v1/members"),
    "list invitations": _get("/v1/invitations"),
    "list api keys": _get("/v1/api_keys"),
    "read audit log": _get("/v1/audit_log"),
    "create test key": _post("/v1/api_keys", {"name": "mine", "mode": "test"}),
    "create live key": _post("/v1/api_keys", {"name": "mine", "mode": "live"}),
    "revoke test key": _post("/v1/api_keys/{target}/revoke", None, lambda t: t.key("test")),
    "revoke live key": _post("/v1/api_keys/{target}/revoke", None, lambda t: t.key("live")),
    "invite a viewer": _post("/v1/invitations", {"email": "new@example.com", "role": "viewer"}),
    "invite an owner": _post("/v1/invitations", {"email": "new@example.com", "role": "owner"}),
    "revoke a viewer's invitation": _post(
        "/v1/invitations/{target}/revoke", None, lambda t: t.invitation("viewer")
    ),
    "revoke an owner's invitation": _post(
        "/v1/invitations/{target}/revoke", None, lambda t: t.invitation("owner")
    ),
    "make a viewer developer": _post(
        "/v1/members/{target}", {"role": "developer"}, lambda t: t.member("viewer")
    ),
    "make a viewer admin": _post(
        "/v1/members/{target}", {"role": "admin"}, lambda t: t.member("viewer")
    ),
    "make a viewer owner": _post(
        "/v1/members/{target}", {"role": "owner"}, lambda t: t.member("viewer")
    ),
    "demote another owner": _post(
        "/v1/members/{target}", {"role": "admin"}, lambda t: t.member("owner")
    ),
    "remove a developer": _remove("developer"),
    "remove another owner": _remove("owner"),
}
READS = {"list members", "list invitations", "list api keys", "read audit log"}
TEST_KEYS = {"create test key", "revoke test key"}
MEMBERS = {
    "create live key",
    "revoke live key",
    "invite a viewer",
    "revoke a viewer's invitation",
    "make a viewer developer",
    "make a viewer admin",
    "remove a developer",
}
OWNERS = {
    "invite an owner",
    "revoke an owner's invitation",
    "make a viewer owner",
    "demote another owner",
    "remove another owner",
}
ALLOWED = {
    "viewer": READS,
    "developer": READS | TEST_KEYS,
    "admin": READS | TEST_KEYS | MEMBERS,
    "owner": READS | TEST_KEYS | MEMBERS | OWNERS,
}


@pytest.mark.parametrize("role", ["viewer", "developer", "admin", "owner"])
async def test_role_matrix(client: httpx.AsyncClient, role: str) -> None:
    owner, workspace_id = await owner_of_new_workspace(client)
    team = Team(client=client, owner=owner, actor=owner, workspace_id=workspace_id)
    if role != "owner":
        team.actor = (await join(client, owner, workspace_id, role))[0]

    allowed: set[str] = set()
    for name, act in ACTS.items():
        target = await act.setup(team) if act.setup else ""
        before = await team.state()
        response = await act.perform(team, target)
        if response.status_code == 200:
            allowed.add(name)
            continue
        assert response.status_code == 403, (role, name, response.text)
        assert response.json()["error"]["code"] == "permission_denied", (role, name)
        assert await team.state() == before, (role, name)

    assert allowed == ALLOWED[role]
