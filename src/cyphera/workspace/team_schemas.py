"""Request and response bodies of ``/v1/workspaces``, ``/v1/members``, ``/v1/invitations`` and
``/v1/api_keys`` (the management endpoints a signed-in member uses)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from cyphera import models
from cyphera.kit.clock import to_unix
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel
from cyphera.kit.text import StorableStr, check_not_blank
from cyphera.models.api_key import ApiKeyKind
from cyphera.models.member import MemberRole
from cyphera.models.mixins import Mode
from cyphera.workspace.service import MAX_NAME_LENGTH

Role = Literal["owner", "admin", "developer", "viewer"]
KeyType = Literal["secret", "restricted"]
ModeName = Literal["test", "live"]
Name = Annotated[
    StorableStr,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(check_not_blank),
]


class WorkspaceCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Acme"}]})

    name: Name


class Workspace(BaseModel):
    """A workspace the signed-in account belongs to, and its role there."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ws_Qm3kTq9vX2pL7wZ4nR8sYd1c",
                    "object": "workspace",
                    "created": 1772366400,
                    "name": "Acme",
                    "role": "owner",
                }
            ]
        }
    )

    id: str
    object: Literal["workspace"] = "workspace"
    created: int
    name: str
    role: Role = Field(description="The signed-in account's role in this workspace.")

    @classmethod
    def from_model(cls, workspace: models.Workspace, member: models.Member) -> Workspace:
        return cls(
            id=workspace.id,
            created=to_unix(workspace.created_at),
            name=workspace.name,
            role=member.role.value,
        )


class MemberAccount(BaseModel):
    id: str
    email: str | None
    wallet_address: str | None


class Member(BaseModel):
    """An account's membership of the workspace."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "mem_Lq2WmZx9KcR3vB7nP1sDaYt5",
                    "object": "member",
                    "account": {
                        "id": "acct_8fJk2LmNq4RtVw6XyZ1aBcDe",
                        "email": None,
                        "wallet_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                    },
                    "created": 1772366400,
                    "role": "admin",
                }
            ]
        }
    )

    id: str
    object: Literal["member"] = "member"
    account: MemberAccount
    created: int
    role: Role

    @classmethod
    def from_model(cls, member: models.Member, account: models.Account) -> Member:
        return cls(
            id=member.id,
            account=MemberAccount(
                id=account.id, email=account.email, wallet_address=account.wallet_address
            ),
            created=to_unix(member.created_at),
            role=member.role.value,
        )


class MemberUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "developer"}]})

    role: Role


class MemberDeleted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "mem_Lq2WmZx9KcR3vB7nP1sDaYt5", "object": "member", "deleted": True}
            ]
        }
    )

    id: str
    object: Literal["member"] = "member"
    deleted: bool


class InvitationCreate(RequestModel):
    """Invite an email address or a wallet address (exactly one) with a role."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "dev@example.com", "role": "developer"},
                {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "role": "viewer"},
            ]
        }
    )

    role: Role
    email: Annotated[StorableStr, StringConstraints(min_length=3, max_length=320)] | None = None
    address: Annotated[StorableStr, StringConstraints(max_length=64)] | None = Field(
        default=None,
        description="A wallet address; only the account signed in with it can accept.",
    )


class InvitationAccept(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "invite_Wm8Zx2KcR3vB7nP1sDaYt5Lq2WmZx9Kc"}]}
    )

    token: Annotated[StorableStr, StringConstraints(min_length=1, max_length=100)]


class Invitation(BaseModel):
    """An invitation to join the workspace; `token` is shown once, when it is created."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "inv_R3vB7nP1sDaYt5Lq2WmZx9Kc",
                    "object": "invitation",
                    "address": None,
                    "created": 1772366400,
                    "email": "dev@example.com",
                    "expires": 1772971200,
                    "role": "developer",
                    "status": "pending",
                    "token": "invite_Wm8Zx2KcR3vB7nP1sDaYt5Lq2WmZx9Kc",
                }
            ]
        }
    )

    id: str
    object: Literal["invitation"] = "invitation"
    address: str | None
    created: int
    email: str | None
    expires: int
    role: Role
    status: Literal["pending", "accepted", "revoked", "expired"]
    token: str | None = Field(
        default=None,
        description="Send this to the invitee (it is the credential that accepts the "
        "invitation); present only in the creation response.",
    )

    @classmethod
    def from_model(
        cls, invitation: models.Invitation, *, now_unix: int, token: str | None = None
    ) -> Invitation:
        expires = to_unix(invitation.expires_at)
        status: Literal["pending", "accepted", "revoked", "expired"]
        if invitation.accepted_at is not None:
            status = "accepted"
        elif invitation.revoked_at is not None:
            status = "revoked"
        elif expires <= now_unix:
            status = "expired"
        else:
            status = "pending"
        return cls(
            id=invitation.id,
            address=invitation.address,
            created=to_unix(invitation.created_at),
            email=invitation.email,
            expires=expires,
            role=invitation.role.value,
            status=status,
            token=token,
        )


class ApiKeyCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Production server", "mode": "live"}]}
    )

    name: Annotated[
        StorableStr,
        StringConstraints(min_length=1, max_length=200),
        AfterValidator(check_not_blank),
    ]
    mode: ModeName
    type: KeyType = Field(
        default="secret", description="`secret` reads and writes; `restricted` only reads."
    )


class ApiKeyListParams(ListParams):
    mode: ModeName | None = Field(default=None, description="Only keys of this mode.")


class ApiKey(BaseModel):
    """An API key; `secret` is shown once, when it is created, and never again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "key_3kTq9vX2pL7wZ4nR8sYd1cMa",
                    "object": "api_key",
                    "created": 1772366400,
                    "last_used": None,
                    "livemode": True,
                    "name": "Production server",
                    "redacted": "sk_live_AbCd",
                    "revoked": None,
                    "secret": None,
                    "type": "secret",
                }
            ]
        }
    )

    id: str
    object: Literal["api_key"] = "api_key"
    created: int
    last_used: int | None
    livemode: bool
    name: str
    redacted: str = Field(description="The key's first characters, to tell keys apart.")
    revoked: int | None = Field(description="Unix time it was revoked; null while usable.")
    secret: str | None = Field(
        default=None, description="The plaintext key: present only in the creation response."
    )
    type: KeyType

    @classmethod
    def from_model(cls, api_key: models.ApiKey, *, secret: str | None = None) -> ApiKey:
        return cls(
            id=api_key.id,
            created=to_unix(api_key.created_at),
            last_used=to_unix(api_key.last_used_at) if api_key.last_used_at else None,
            livemode=api_key.mode is Mode.LIVE,
            name=api_key.name,
            redacted=api_key.redacted,
            revoked=to_unix(api_key.revoked_at) if api_key.revoked_at else None,
            secret=secret,
            type="secret" if api_key.kind is ApiKeyKind.SECRET else "restricted",
        )


def role_of(name: Role) -> MemberRole:
    return MemberRole(name)


def mode_of(name: ModeName) -> Mode:
    return Mode(name)
