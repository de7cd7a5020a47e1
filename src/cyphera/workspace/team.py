"""Who works on a workspace: its members and roles, invitations, and the API keys members manage.

Every function that acts in a workspace takes the `MemberContext` of the signed-in account
(resolved from a checked membership, `cyphera.auth.members`) and asks `cyphera.auth.roles` first:

- reading (members, invitations, keys): any member;
- API keys: test-mode keys from developer up, live-mode keys from admin up;
- members and invitations: admin and owner; anything that grants, changes or removes the owner
  role: owners only;
- anyone may leave (remove their own membership);
- the last owner can be neither demoted nor removed (`LastOwner`). Membership changes of a
  workspace are serialised on its row (``FOR UPDATE``), so two owners demoting each other at
  once cannot both succeed and leave it ownerless.

Invitations name an email or a wallet address and a role; the token (shown once to the inviter,
stored hashed) is the credential. An address invitation can only be accepted by the account
signed in with that address; an email one by whoever holds the token (email delivery is the
inviter's, for now). Invitations expire (7 days by default) and can be revoked.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import string
from datetime import timedelta
from typing import NamedTuple

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.account_repository import (
    MEMBER_ID_PREFIX,
    AccountRepository,
    MemberRepository,
)
from cyphera.auth.keys import hash_secret
from cyphera.auth.members import AccountContext, MemberContext, WorkspaceNotFound
from cyphera.auth.repository import ApiKeyRepository
from cyphera.auth.roles import Capability, key_capability, role_capability
from cyphera.auth.scope import Scope, WorkspaceScope
from cyphera.auth.service import IssuedApiKey, issue_api_key, revoke_api_key
from cyphera.exceptions import InvalidRequest, NotFound
from cyphera.kit.clock import Clock
from cyphera.kit.ids import has_prefix, new_id
from cyphera.kit.pagination import Page, PageRequest
from cyphera.models.account import Account
from cyphera.models.api_key import ApiKey, ApiKeyKind
from cyphera.models.invitation import Invitation
from cyphera.models.member import Member, MemberRole
from cyphera.models.mixins import Mode
from cyphera.models.workspace import Workspace
from cyphera.workspace.errors import (
    InvitationAddressMismatch,
    InvitationExpired,
    InvitationRevoked,
    InvitationUsed,
    LastOwner,
    MemberExists,
)
from cyphera.workspace.repository import InvitationRepository, WorkspaceRepository, accounts_by_id
from cyphera.workspace.service import new_workspace, normalize_address

INVITATION_ID_PREFIX = "inv"
INVITATION_TOKEN_PREFIX = "invite_"  # noqa: S105 - a prefix, not a secret
INVITATION_TOKEN_LENGTH = 32
API_KEY_ID_PREFIX = "key"
MAX_EMAIL_LENGTH = 320
_ALPHABET = string.ascii_letters + string.digits
_EMAIL = re.compile(r"[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+")

log = structlog.get_logger(__name__)


class MemberView(NamedTuple):
    member: Member
    account: Account


class IssuedInvitation(NamedTuple):
    invitation: Invitation
    token: str
    """The plaintext token: returned this once, to be sent to the invitee; stored only hashed."""


class RoleChange(NamedTuple):
    member: MemberView
    previous_role: MemberRole


# --- workspaces -------------------------------------------------------------------------------


async def create_workspace_for(
    session: AsyncSession, *, account: AccountContext, name: str, clock: Clock
) -> tuple[Workspace, Member]:
    """A new workspace whose first member, its owner, is `account` (no API key yet)."""
    workspace = await new_workspace(session, name=name, clock=clock)
    member = _new_member(workspace.id, account.account_id, MemberRole.OWNER, clock)
    MemberRepository(session).add(member)
    await session.flush()
    log.info("workspace.created", workspace_id=workspace.id, owner_account_id=account.account_id)
    return workspace, member


async def workspaces_of(
    session: AsyncSession, *, account: AccountContext, page: PageRequest
) -> tuple[list[tuple[Workspace, Member]], bool]:
    """A page of the workspaces `account` is a member of, with its membership in each."""
    return await MemberRepository(session).workspaces_page(account.account_id, page=page)


# --- members ----------------------------------------------------------------------------------


async def list_members(
    session: AsyncSession, *, member: MemberContext, page: PageRequest
) -> tuple[list[MemberView], bool]:
    member.require(Capability.READ)
    found = await MemberRepository(session).list_page(member.scope, page=page)
    accounts = await accounts_by_id(session, [m.account_id for m in found.items])
    return [MemberView(m, accounts[m.account_id]) for m in found.items], found.has_more


async def update_member_role(
    session: AsyncSession, *, member: MemberContext, member_id: str, role: MemberRole, clock: Clock
) -> RoleChange:
    """Give member `member_id` the role `role`; the acting member's role decides if they may."""
    repository = MemberRepository(session)
    member = await _locked(repository, member)
    target = await _target(repository, member.scope, member_id)
    member.require(role_capability(target.role, role))
    previous = target.role
    if previous is MemberRole.OWNER and role is not MemberRole.OWNER:
        await _keep_an_owner(repository, member.scope, "role")
    if previous is not role:
        target.role = role
        target.updated_at = clock.now()
        await session.flush()
        log.info(
            "member.role_updated",
            workspace_id=member.workspace_id,
            member_id=target.id,
            previous_role=previous.value,
            role=role.value,
        )
    account = await AccountRepository(session).get(target.account_id)
    assert account is not None
    return RoleChange(MemberView(target, account), previous)


async def remove_member(session: AsyncSession, *, member: MemberContext, member_id: str) -> Member:
    """Remove `member_id` from the workspace (anyone may remove themselves: leaving)."""
    repository = MemberRepository(session)
    member = await _locked(repository, member)
    target = await _target(repository, member.scope, member_id)
    if target.id != member.member_id:
        member.require(role_capability(target.role))
    if target.role is MemberRole.OWNER:
        await _keep_an_owner(repository, member.scope, "id")
    await repository.delete(target)
    await session.flush()
    log.info("member.removed", workspace_id=member.workspace_id, member_id=target.id)
    return target


# --- invitations ------------------------------------------------------------------------------


async def create_invitation(
    session: AsyncSession,
    *,
    member: MemberContext,
    role: MemberRole,
    email: str | None,
    address: str | None,
    ttl: timedelta,
    clock: Clock,
) -> IssuedInvitation:
    """Invite an email or a wallet address to join with `role` (owners only for an owner)."""
    member.require(role_capability(role))
    if (email is None) == (address is None):
        raise InvalidRequest(
            "Invite either an email or an address.", code="parameter_invalid", param="email"
        )
    normalized_email = _normalize_email(email) if email is not None else None
    checksummed = normalize_address(address) if address is not None else None
    if checksummed is not None:
        existing = await AccountRepository(session).get_by_wallet(checksummed)
        if existing is not None and await MemberRepository(session).membership(
            account_id=existing.id, workspace_id=member.workspace_id
        ):
            raise MemberExists(f"{checksummed} is already a member", param="address")
    token = INVITATION_TOKEN_PREFIX + "".join(
        secrets.choice(_ALPHABET) for _ in range(INVITATION_TOKEN_LENGTH)
    )
    now = clock.now()
    invitation = Invitation(
        id=new_id(INVITATION_ID_PREFIX),
        workspace_id=member.workspace_id,
        role=role,
        email=normalized_email,
        address=checksummed,
        token_hash=hash_secret(token),
        expires_at=now + ttl,
        invited_by_account_id=member.account_id,
        created_at=now,
        updated_at=now,
    )
    InvitationRepository(session).add(invitation)
    await session.flush()
    log.info("invitation.created", workspace_id=member.workspace_id, invitation_id=invitation.id)
    return IssuedInvitation(invitation, token)


async def list_invitations(
    session: AsyncSession, *, member: MemberContext, page: PageRequest
) -> Page[Invitation]:
    member.require(Capability.READ)
    return await InvitationRepository(session).list(member.scope, page=page)


async def revoke_invitation(
    session: AsyncSession, *, member: MemberContext, invitation_id: str, clock: Clock
) -> Invitation:
    """Revoke a pending invitation (revoking a revoked one changes nothing)."""
    invitation = None
    if has_prefix(invitation_id, INVITATION_ID_PREFIX):
        invitation = await InvitationRepository(session).get(member.scope, invitation_id)
    if invitation is None:
        raise NotFound(f"No such invitation: {invitation_id!r}", param="id")
    member.require(role_capability(invitation.role))
    if invitation.accepted_at is not None:
        raise InvitationUsed("This invitation was already accepted.", param="id")
    if invitation.revoked_at is None:
        invitation.revoked_at = clock.now()
        invitation.updated_at = invitation.revoked_at
        await session.flush()
    return invitation


async def accept_invitation(
    session: AsyncSession, *, account: AccountContext, token: str, clock: Clock
) -> tuple[Workspace, Member, Invitation]:
    """Join the invitation's workspace as `account`, with the invitation's role."""
    invitation = None
    if token.startswith(INVITATION_TOKEN_PREFIX):
        invitation = await InvitationRepository(session).get_by_token_hash(hash_secret(token))
    if invitation is None:
        raise NotFound("No such invitation.", param="token")
    now = clock.now()
    if invitation.revoked_at is not None:
        raise InvitationRevoked("This invitation was revoked.", param="token")
    if invitation.accepted_at is not None:
        raise InvitationUsed("This invitation was already accepted.", param="token")
    if invitation.expires_at <= now:
        raise InvitationExpired("This invitation has expired; ask for a new one.", param="token")
    accounts = AccountRepository(session)
    joining = await accounts.get(account.account_id)
    assert joining is not None
    if invitation.address is not None and joining.wallet_address != invitation.address:
        raise InvitationAddressMismatch(
            f"This invitation is for {invitation.address}; sign in with that wallet to accept it.",
            param="token",
        )
    members = MemberRepository(session)
    await members.lock_workspace(invitation.workspace_id)
    if await members.membership(account_id=joining.id, workspace_id=invitation.workspace_id):
        raise MemberExists("You are already a member of this workspace.", param="token")
    member = _new_member(invitation.workspace_id, joining.id, invitation.role, clock)
    members.add(member)
    invitation.accepted_at = now
    invitation.accepted_by_account_id = joining.id
    invitation.updated_at = now
    await session.flush()
    workspace = await WorkspaceRepository(session).get(invitation.workspace_id)
    assert workspace is not None
    log.info("invitation.accepted", workspace_id=workspace.id, member_id=member.id)
    return workspace, member, invitation


# --- API keys ---------------------------------------------------------------------------------


async def list_api_keys(
    session: AsyncSession, *, member: MemberContext, page: PageRequest, mode: Mode | None
) -> Page[ApiKey]:
    member.require(Capability.READ)
    return await ApiKeyRepository(session).list_in_workspace(member.scope, page=page, mode=mode)


async def create_api_key(
    session: AsyncSession,
    *,
    member: MemberContext,
    name: str,
    mode: Mode,
    kind: ApiKeyKind,
    clock: Clock,
) -> IssuedApiKey:
    member.require(key_capability(mode))
    return await issue_api_key(
        session, workspace_id=member.workspace_id, mode=mode, name=name, kind=kind, clock=clock
    )


async def revoke_workspace_api_key(
    session: AsyncSession, *, member: MemberContext, api_key_id: str, clock: Clock
) -> ApiKey:
    api_key = None
    if has_prefix(api_key_id, API_KEY_ID_PREFIX):
        api_key = await ApiKeyRepository(session).get_in_workspace(member.scope, api_key_id)
    if api_key is None:
        raise NotFound(f"No such API key: {api_key_id!r}", param="id")
    member.require(key_capability(api_key.mode))
    return await revoke_api_key(
        session,
        scope=Scope(workspace_id=member.workspace_id, mode=api_key.mode),
        api_key_id=api_key.id,
        clock=clock,
    )


# --- helpers ----------------------------------------------------------------------------------


def _new_member(workspace_id: str, account_id: str, role: MemberRole, clock: Clock) -> Member:
    now = clock.now()
    return Member(
        id=new_id(MEMBER_ID_PREFIX),
        workspace_id=workspace_id,
        account_id=account_id,
        role=role,
        created_at=now,
        updated_at=now,
    )


async def _locked(repository: MemberRepository, member: MemberContext) -> MemberContext:
    """Lock the workspace's memberships and re-read the acting member's role under the lock.

    The role in `member` was read when the request began; a demotion committed since must not
    let the old role act on other members.
    """
    await repository.lock_workspace(member.workspace_id)
    current = await repository.get(member.scope, member.member_id, for_update=True)
    if current is None:
        raise WorkspaceNotFound(f"No such workspace: {member.workspace_id!r}")
    return dataclasses.replace(member, role=current.role)


async def add_owner(
    session: AsyncSession, *, workspace_id: str, address: str, clock: Clock
) -> Member:
    """Make the account of wallet `address` (created if new) an owner of `workspace_id`.

    For ``cyphera workspace create --owner``: the first owner of a workspace made from the CLI.
    """
    checksummed = normalize_address(address, param="owner")
    account = await AccountRepository(session).get_or_create_by_wallet(checksummed, at=clock.now())
    member = _new_member(workspace_id, account.id, MemberRole.OWNER, clock)
    MemberRepository(session).add(member)
    await session.flush()
    return member


async def _target(repository: MemberRepository, scope: WorkspaceScope, member_id: str) -> Member:
    target = None
    if has_prefix(member_id, MEMBER_ID_PREFIX):
        target = await repository.get(scope, member_id, for_update=True)
    if target is None:
        raise NotFound(f"No such member: {member_id!r}", param="id")
    return target


async def _keep_an_owner(repository: MemberRepository, scope: WorkspaceScope, param: str) -> None:
    if await repository.count_owners(scope) <= 1:
        raise LastOwner("A workspace needs an owner: make another member owner first.", param=param)


def _normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidRequest(
            f"{email!r} is not an email address", code="parameter_invalid", param="email"
        )
    return email
