"""A signed-in account acting in one workspace: `MemberContext`, resolved only from a membership.

A session names the workspace it acts in (the ``Cyphera-Workspace`` header); the header is a
*claim*, checked here against the ``members`` table. An account that is not a member — of a
workspace that exists or not — gets ``404 resource_missing``, so workspace ids cannot be probed.
The original system trusted such a header from any key; this is the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth import roles
from cyphera.auth.account_repository import MemberRepository
from cyphera.auth.roles import Capability
from cyphera.auth.scope import WorkspaceScope
from cyphera.exceptions import NotFound
from cyphera.kit.ids import has_prefix
from cyphera.models.member import MemberRole

WORKSPACE_ID_PREFIX = "ws"


@dataclass(frozen=True, slots=True)
class AccountContext:
    """The account behind a dashboard session."""

    account_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class MemberContext:
    """A member acting in their workspace, with their role."""

    account_id: str
    session_id: str
    workspace_id: str
    member_id: str
    role: MemberRole

    @property
    def scope(self) -> WorkspaceScope:
        return WorkspaceScope(self.workspace_id)

    def can(self, capability: Capability) -> bool:
        return roles.allows(self.role, capability)

    def require(self, capability: Capability) -> None:
        """`PermissionDenied` unless this member's role has `capability` (`cyphera.auth.roles`)."""
        roles.require(self.role, capability)


class WorkspaceNotFound(NotFound):
    pass


async def resolve_member(
    session: AsyncSession, *, account: AccountContext, workspace_id: str, param: str
) -> MemberContext:
    """`account` in `workspace_id`, or `WorkspaceNotFound` when it is not a member there."""
    member = None
    if has_prefix(workspace_id, WORKSPACE_ID_PREFIX):
        member = await MemberRepository(session).membership(
            account_id=account.account_id, workspace_id=workspace_id
        )
    if member is None:
        raise WorkspaceNotFound(f"No such workspace: {workspace_id!r}", param=param)
    return MemberContext(
        account_id=account.account_id,
        session_id=account.session_id,
        workspace_id=member.workspace_id,
        member_id=member.id,
        role=member.role,
    )
