"""Request and response bodies of sign-in (``/v1/auth/…``), ``/v1/account`` and ``/v1/audit_log``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from cyphera import models
from cyphera.auth.signatures import MAX_SIGNATURE_BYTES
from cyphera.kit.clock import to_unix
from cyphera.kit.schema import RequestModel
from cyphera.kit.text import StorableStr
from cyphera.models.mixins import Mode

MAX_MESSAGE_LENGTH = 8192
MAX_ID_TOKEN_LENGTH = 16 * 1024

_EXAMPLE_MESSAGE = (
    "dashboard.example.com wants you to sign in with your Ethereum account:\n"
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n"
    "\n"
    "Sign in to Cyphera.\n"
    "\n"
    "URI: https://dashboard.example.com/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: Qm3kTq9vX2pL7wZ4nR8sYd1c\n"
    "Issued At: 2026-03-01T12:00:00Z"
)


class SiweNonce(BaseModel):
    """A nonce to put in one Sign-In with Ethereum message, with what the message must say."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "object": "siwe_nonce",
                    "nonce": "Qm3kTq9vX2pL7wZ4nR8sYd1c",
                    "domain": "dashboard.example.com",
                    "chain_ids": [1],
                    "created": 1772366400,
                    "expires": 1772367000,
                }
            ]
        }
    )

    object: Literal["siwe_nonce"] = "siwe_nonce"
    nonce: str = Field(description="Put it in the message's `Nonce:` line; usable once.")
    domain: str = Field(description="The domain the message must name.")
    chain_ids: list[int] = Field(description="Chain ids the message's `Chain ID:` may name.")
    created: int
    expires: int = Field(description="Unix time after which the nonce is refused.")


class SiweVerify(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": _EXAMPLE_MESSAGE,
                    "signature": "0x" + "4f1c8a2b9d3e7f60" * 8 + "1b",
                }
            ]
        }
    )

    message: Annotated[
        StorableStr, StringConstraints(min_length=1, max_length=MAX_MESSAGE_LENGTH)
    ] = Field(description="The EIP-4361 message exactly as signed (LF line ends, no final LF).")
    signature: Annotated[
        StorableStr, StringConstraints(min_length=4, max_length=2 + 2 * MAX_SIGNATURE_BYTES)
    ] = Field(
        description="The `personal_sign` signature, 0x-hex: 65 bytes from a key, or whatever "
        "the smart account's ERC-1271 `isValidSignature` accepts."
    )


class OidcVerify(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFlOWdkazcifQ."
                    "eyJpc3MiOiJodHRwczovL2FjY291bnRzLmV4YW1wbGUuY29tIiwic3ViIjoiMjQ4Mjg5NzYxMDAxIiwi"
                    "YXVkIjoiY3lwaGVyYSIsImV4cCI6MTc3MjM3MDAwMCwiaWF0IjoxNzcyMzY2NDAwfQ."
                    "rHQjEmBqn9Jre0OLykYNnspA10Qql2rvx4FsD00jwlB0Sym4NzpgvPKsDjn_wMkHxcp6CilPcoKrWHci"
                    "pR2iAjzLvDNAReF97zoJqq880ZD1bwY82JDauCXELVR9O6_B0w3K-E7yM2macAAgNCUwtik6SjoSUZRc"
                    "f-O5lygIyLENx882p6MtmwaL1hd6qn5RZOQ0TLrOYu0532g9Exxcm-ChymrB4xLykpDj3lUivJt63eEG"
                    "GN6DH5K6o33TcxkIjNrCD4XB1CKKumZvCedgHHF3IAK4dVEDSUoGlH9z4pP_eWYNXvqQOjGs-rDaQzUH"
                    "l6cQQWNiDpWOl_lxXjQEvQ"
                }
            ]
        }
    )

    id_token: Annotated[
        StorableStr, StringConstraints(min_length=1, max_length=MAX_ID_TOKEN_LENGTH)
    ] = Field(description="An ID token (JWT) of a configured OpenID Connect provider.")


_ACCOUNT_EXAMPLE: JsonDict = {
    "id": "acct_8fJk2LmNq4RtVw6XyZ1aBcDe",
    "object": "account",
    "created": 1772366400,
    "email": None,
    "oidc_issuer": None,
    "oidc_subject": None,
    "wallet_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
}


class Account(BaseModel):
    """A person who signs in to manage workspaces."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ACCOUNT_EXAMPLE]})

    id: str
    object: Literal["account"] = "account"
    created: int
    email: str | None
    oidc_issuer: str | None
    oidc_subject: str | None
    wallet_address: str | None

    @classmethod
    def from_model(cls, account: models.Account) -> Account:
        return cls(
            id=account.id,
            created=to_unix(account.created_at),
            email=account.email,
            oidc_issuer=account.oidc_issuer,
            oidc_subject=account.oidc_subject,
            wallet_address=account.wallet_address,
        )


class Session(BaseModel):
    """A signed-in session; `token` is shown once, when it is created."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ses_Tq2xPfLmNWjs8kKbJWmuuc3k",
                    "object": "session",
                    "account": _ACCOUNT_EXAMPLE,
                    "expires": 1772971200,
                    "method": "siwe",
                    "token": "sess_V7wZ4nR8sYd1cQm3kTq9vX2pL7wZ4nR8",
                }
            ]
        }
    )

    id: str
    object: Literal["session"] = "session"
    account: Account
    expires: int
    method: Literal["siwe", "oidc"]
    token: str | None = Field(
        default=None,
        description="The bearer token (`sess_…`), present only in the sign-in response.",
    )

    @classmethod
    def from_model(
        cls, account_session: models.AccountSession, account: models.Account, *, token: str | None
    ) -> Session:
        return cls(
            id=account_session.id,
            account=Account.from_model(account),
            expires=to_unix(account_session.expires_at),
            method=account_session.method.value,
            token=token,
        )


class SessionRevoked(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "ses_Tq2xPfLmNWjs8kKbJWmuuc3k", "object": "session", "revoked": True}
            ]
        }
    )

    id: str
    object: Literal["session"] = "session"
    revoked: bool


class AuditActor(BaseModel):
    type: Literal["account", "api_key"]
    id: str


class AuditTarget(BaseModel):
    object: str | None
    id: str | None


class AuditEntry(BaseModel):
    """One act: who, what, on which object, in which request, when."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "audit_Yt5Lq2WmZx9KcR3vB7nP1sDa",
                    "object": "audit_entry",
                    "action": "POST /v1/products",
                    "actor": {"type": "api_key", "id": "key_3kTq9vX2pL7wZ4nR8sYd1cMa"},
                    "created": 1772366400,
                    "details": {},
                    "livemode": False,
                    "request_id": "req_b3Jk9TqW2mXc8LpZ4nRv6sYd",
                    "target": {"object": "product", "id": "prod_NWjs8kKbJWmuuc3kTq2xPfLm"},
                    "workspace": "ws_Qm3kTq9vX2pL7wZ4nR8sYd1c",
                }
            ]
        }
    )

    id: str
    object: Literal["audit_entry"] = "audit_entry"
    action: str = Field(
        description="`<METHOD> <route>` for API requests; a dotted name for management acts "
        "(`member.role_updated`, `api_key.created`, `session.created`, …)."
    )
    actor: AuditActor
    created: int
    details: dict[str, Any]
    livemode: bool | None = Field(
        description="The API key's mode; null for management acts, which span both modes."
    )
    request_id: str
    target: AuditTarget | None
    workspace: str | None

    @classmethod
    def from_model(cls, entry: models.AuditEntry) -> AuditEntry:
        return cls(
            id=entry.id,
            action=entry.action,
            actor=AuditActor(type=entry.actor_type.value, id=entry.actor_id),
            created=to_unix(entry.created_at),
            details=entry.details,
            livemode=None if entry.mode is None else entry.mode is Mode.LIVE,
            request_id=entry.request_id,
            target=(
                AuditTarget(object=entry.object_type, id=entry.object_id)
                if entry.object_id is not None or entry.object_type is not None
                else None
            ),
            workspace=entry.workspace_id,
        )
