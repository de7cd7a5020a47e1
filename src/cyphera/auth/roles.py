"""What each role of a workspace may do: the one table every management action is checked against.

==========  =====  ===============  ===============  ==============  ==============
role        read   test-mode keys   live-mode keys   members,        owners
                                                     invitations
==========  =====  ===============  ===============  ==============  ==============
viewer      yes    no               no               no              no
developer   yes    yes              no               no              no
admin       yes    yes              yes              yes             no
owner       yes    yes              yes              yes             yes
==========  =====  ===============  ===============  ==============  ==============

"Owners" covers anything that grants, changes or removes the owner role: inviting an owner,
promoting to or demoting from owner, removing an owner. Besides the table, two rules hold for
everyone: a member may always leave a workspace (remove themselves), and a workspace never loses
its last owner (`cyphera.workspace.team`).

Services call `require` (through `cyphera.auth.members.MemberContext.require`) before they act;
nothing else decides. A refusal is ``403 permission_denied``: the caller is a member, so the
workspace's existence is no secret to them. Non-members never get this far: to them the workspace
is ``404`` (`cyphera.auth.members`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from cyphera.auth.errors import PermissionDenied
from cyphera.models.member import MemberRole
from cyphera.models.mixins import Mode


class Capability(enum.StrEnum):
    READ = "read"
    MANAGE_TEST_KEYS = "manage_test_keys"
    MANAGE_LIVE_KEYS = "manage_live_keys"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_OWNERS = "manage_owners"
    MANAGE_BILLING = "manage_billing"


_DESCRIPTIONS: Mapping[Capability, str] = MappingProxyType(
    {
        Capability.READ: "read this workspace",
        Capability.MANAGE_TEST_KEYS: "manage test-mode API keys",
        Capability.MANAGE_LIVE_KEYS: "manage live-mode API keys",
        Capability.MANAGE_MEMBERS: "manage members and invitations",
        Capability.MANAGE_OWNERS: "grant, change or remove the owner role",
        Capability.MANAGE_BILLING: "change subscriptions from the dashboard",
    }
)

ROLE_CAPABILITIES: Mapping[MemberRole, frozenset[Capability]] = MappingProxyType(
    {
        MemberRole.VIEWER: frozenset({Capability.READ}),
        MemberRole.DEVELOPER: frozenset({Capability.READ, Capability.MANAGE_TEST_KEYS}),
        MemberRole.ADMIN: frozenset(
            {
                Capability.READ,
                Capability.MANAGE_TEST_KEYS,
                Capability.MANAGE_LIVE_KEYS,
                Capability.MANAGE_MEMBERS,
                Capability.MANAGE_BILLING,
            }
        ),
        MemberRole.OWNER: frozenset(Capability),
    }
)


def allows(role: MemberRole, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES[role]


def require(role: MemberRole, capability: Capability) -> None:
    """`PermissionDenied` unless `role` has `capability`."""
    if not allows(role, capability):
        raise PermissionDenied(
            f"A workspace {role.value} cannot {_DESCRIPTIONS[capability]}; ask an "
            f"{'owner' if capability is Capability.MANAGE_OWNERS else 'admin or owner'}."
        )


def key_capability(mode: Mode) -> Capability:
    """What managing an API key of `mode` takes."""
    return Capability.MANAGE_LIVE_KEYS if mode is Mode.LIVE else Capability.MANAGE_TEST_KEYS


def role_capability(*roles: MemberRole) -> Capability:
    """What granting, changing or removing these roles takes (owners are the owners' business)."""
    return Capability.MANAGE_OWNERS if MemberRole.OWNER in roles else Capability.MANAGE_MEMBERS
