"""The audit log: who (an account or an API key) did what, to which object, in which request, when.

Entries are written by the API's transaction boundary (`cyphera.api.transaction`), once per
successful request that changes something (POST, PUT, PATCH, DELETE), *in the request's own
transaction*: the entry commits with the change it describes or not at all, and a request that
fails (and so changes nothing) leaves none. That one hook covers every POST of the REST API, the
ones written later included; nothing per endpoint can forget it.

What the entry says comes from `RequestAudit`, kept in the request's ASGI state:

- the *actor*, set by authentication (`cyphera.auth.dependencies`: the API key, with its
  workspace and mode; `cyphera.auth.account_dependencies`: the account, and the workspace once its
  membership is checked);
- the *action*: by default ``"<METHOD> <route>"`` (``POST /v1/products/{product_id}``) with the
  object the response names (its ``id`` and ``object``); management endpoints name it exactly
  instead (``member.role_updated``, with ``details`` such as the old and new role).

A request with no actor (asking for a SIWE nonce) writes nothing. Reading (`list_entries`) is
scoped like everything else: an API key reads the entries of its workspace *and mode* made through
the API; a member reads everything of their workspace, management included.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic_core
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.account_repository import AccountRepository
from cyphera.auth.repository import ApiKeyRepository
from cyphera.auth.scope import Scope, WorkspaceScope, scoped, workspace_scoped
from cyphera.kit.ids import new_id
from cyphera.kit.pagination import Page, PageRequest, paginate
from cyphera.models.audit_entry import ActorType, AuditEntry
from cyphera.models.mixins import Mode

AUDIT_ID_PREFIX = "audit"
AUDIT_STATE_KEY = "cyphera_audit"
"""Where the request's `RequestAudit` lives in the ASGI scope's ``state``."""
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_ACTION_LENGTH = 160
MAX_OBJECT_ID_LENGTH = 100
MAX_OBJECT_TYPE_LENGTH = 40

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class RequestAudit:
    """What one request's audit entry will say; filled in as the request is handled."""

    actor_type: ActorType | None = None
    actor_id: str | None = None
    workspace_id: str | None = None
    mode: Mode | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def act_as(
        self,
        actor_type: ActorType,
        actor_id: str,
        *,
        workspace_id: str | None = None,
        mode: Mode | None = None,
    ) -> None:
        self.actor_type = actor_type
        self.actor_id = actor_id
        self.workspace_id = workspace_id
        self.mode = mode

    def describe(
        self,
        action: str,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        workspace_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Name this request's act precisely (instead of its method and route)."""
        self.action = action
        self.object_type = object_type
        self.object_id = object_id
        if workspace_id is not None:
            self.workspace_id = workspace_id
        if details:
            self.details = details


def request_audit(state: MutableMapping[str, Any]) -> RequestAudit:
    """The `RequestAudit` of the request whose ASGI ``state`` is `state` (created on first use)."""
    audit = state.get(AUDIT_STATE_KEY)
    if not isinstance(audit, RequestAudit):
        audit = RequestAudit()
        state[AUDIT_STATE_KEY] = audit
    return audit


async def record_request(
    session: AsyncSession,
    *,
    state: MutableMapping[str, Any],
    method: str,
    route: str,
    response_body: bytes,
    request_id: str,
    at: datetime,
) -> AuditEntry | None:
    """Write the entry of a request that succeeded, if it changed something and has an actor."""
    audit = state.get(AUDIT_STATE_KEY)
    if not isinstance(audit, RequestAudit) or audit.actor_type is None or audit.actor_id is None:
        return None
    if method not in WRITE_METHODS and audit.action is None:
        return None
    object_type, object_id = audit.object_type, audit.object_id
    if audit.action is None:
        object_type, object_id = _named_object(response_body)
    return await record_act(
        session,
        actor_type=audit.actor_type,
        actor_id=audit.actor_id,
        action=audit.action or f"{method} {route}",
        object_type=object_type,
        object_id=object_id,
        workspace_id=audit.workspace_id,
        mode=audit.mode,
        request_id=request_id,
        details=audit.details,
        at=at,
    )


async def record_act(
    session: AsyncSession,
    *,
    actor_type: ActorType,
    actor_id: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    request_id: str,
    at: datetime,
    workspace_id: str | None = None,
    mode: Mode | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry in the caller's transaction.

    `record_request` writes the API's; acts outside a request of the API (an operator at the
    CLI, `cyphera.deadletter`) call this directly with an id of their own for `request_id`.
    """
    entry = AuditEntry(
        id=new_id(AUDIT_ID_PREFIX),
        workspace_id=workspace_id,
        mode=mode,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action[:MAX_ACTION_LENGTH],
        object_type=object_type,
        object_id=object_id,
        request_id=request_id,
        details=details or {},
        created_at=at,
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an entry's actor is, as a person reads it: an account's wallet address, else its OIDC
    email, else its OIDC subject at its issuer; an API key's name (and mode)."""

    actor_type: ActorType
    actor_id: str
    wallet_address: str | None = None
    email: str | None = None
    oidc_subject: str | None = None
    oidc_issuer: str | None = None
    key_name: str | None = None
    key_mode: Mode | None = None


async def actors_of(
    session: AsyncSession, *, scope: WorkspaceScope, entries: Sequence[AuditEntry]
) -> dict[tuple[ActorType, str], Actor]:
    """Who acted in `entries` (of `scope`'s log), by ``(actor_type, actor_id)``; an actor that no
    longer exists (a deleted key) is left out, and shown by its id."""
    account_ids = {e.actor_id for e in entries if e.actor_type is ActorType.ACCOUNT}
    key_ids = {e.actor_id for e in entries if e.actor_type is ActorType.API_KEY}
    found: dict[tuple[ActorType, str], Actor] = {}
    for account in await AccountRepository(session).get_many(account_ids):
        found[(ActorType.ACCOUNT, account.id)] = Actor(
            ActorType.ACCOUNT,
            account.id,
            wallet_address=account.wallet_address,
            email=account.email,
            oidc_subject=account.oidc_subject,
            oidc_issuer=account.oidc_issuer,
        )
    for key in await ApiKeyRepository(session).get_many_in_workspace(scope, key_ids):
        found[(ActorType.API_KEY, key.id)] = Actor(
            ActorType.API_KEY, key.id, key_name=key.name, key_mode=key.mode
        )
    return found


async def list_entries(
    session: AsyncSession, *, scope: Scope | WorkspaceScope, page: PageRequest
) -> Page[AuditEntry]:
    """A page of the log, newest first: a `Scope` (an API key) sees its workspace and mode only."""
    if isinstance(scope, Scope):
        statement = scoped(select(AuditEntry), scope)
        cursor = scoped(select(AuditEntry.created_at, AuditEntry.id), scope)
    else:
        statement = workspace_scoped(select(AuditEntry), scope)
        cursor = workspace_scoped(select(AuditEntry.created_at, AuditEntry.id), scope)
    return await paginate(
        session,
        statement,
        order=(AuditEntry.created_at, AuditEntry.id),
        page=page,
        cursor_query=cursor,
    )


def _named_object(body: bytes) -> tuple[str | None, str | None]:
    """The ``object`` and ``id`` a JSON response names, when it names one."""
    try:
        document = pydantic_core.from_json(body) if body[:1] == b"{" else None
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    object_type, object_id = document.get("object"), document.get("id")
    return (
        object_type[:MAX_OBJECT_TYPE_LENGTH] if isinstance(object_type, str) else None,
        object_id[:MAX_OBJECT_ID_LENGTH] if isinstance(object_id, str) else None,
    )
