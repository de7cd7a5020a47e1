"""Response bodies of ``/v1/permissions``: a customer's on-chain grant, in human terms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from cyphera.kit.clock import to_unix
from cyphera.kit.money import USD_DECIMALS
from cyphera.kit.pagination import ListParams
from cyphera.kit.text import StorableStr
from cyphera.models import Permission as PermissionModel
from cyphera.models.mixins import Mode
from cyphera.models.permission import PermissionSource, PermissionStatus
from cyphera.permission.decoding import CaveatType, DecodedPermission
from cyphera.permission.service import effective_status

_PERMISSION_EXAMPLE: JsonDict = {
    "id": "perm_Q2xk7Lm9PzR4tVw8YbN3cD6f",
    "object": "permission",
    "account": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "caveats": [
        {
            "delegation": 0,
            "enforcer": "0x1046bb45C8d673d4ea75321280DB34899413c069",
            "enforcer_name": "TimestampEnforcer",
            "type": "timestamp",
            "terms": {"after": 0, "before": 1861919100},
        },
        {
            "delegation": 0,
            "enforcer": "0x474e3Ae7E169e940607cC624Da8A15Eb120139aB",
            "enforcer_name": "ERC20PeriodTransferEnforcer",
            "type": "erc20_period_transfer",
            "terms": {
                "token": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                "period_amount": "19990000",
                "period_duration": 2419200,
                "start_date": 1767224700,
            },
        },
        {
            "delegation": 0,
            "enforcer": "0xc2b0d624c1c4319760C96503BA27C347F3260f55",
            "enforcer_name": "AllowedCalldataEnforcer",
            "type": "payee",
            "terms": {"payee": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"},
        },
    ],
    "chain_id": 84532,
    "created": 1767225600,
    "customer": "cus_NffrFeUfNV2Hib4mQ8kPz3Rs",
    "delegate": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "delegation_hash": "0x9c1f5c3a4e0d8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e",
    "delegation_manager": "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3",
    "livemode": False,
    "network": "base-sepolia",
    "revoked_at": None,
    "replaced_by": None,
    "source": "eip712",
    "status": "active",
    "terms": {
        "amount_per_period": "19990000",
        "amount_per_period_cents": 1999,
        "expires": 1861919100,
        "payee": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "period_seconds": 2419200,
        "start": 1767224700,
        "token": "USDC",
        "token_address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "token_decimals": 6,
    },
    "verified": True,
}


class GrantedPermissionTerms(BaseModel):
    """What the permission lets Cyphera collect, decoded from the signed delegation."""

    token: str | None = Field(description="The token's symbol (USDC, USDT), if it is a known one.")
    token_address: str
    token_decimals: int
    amount_per_period: str = Field(
        description="The most that can be collected per period, in token base units (decimal "
        "string: it can exceed 2^53)."
    )
    amount_per_period_cents: int | None = Field(
        description="The same amount in USD cents (1 token = $1); null if it is not a whole "
        "number of cents."
    )
    period_seconds: int = Field(description="Length of the on-chain period window, in seconds.")
    start: int = Field(description="Unix time the first period window opens.")
    expires: int = Field(description="Unix time after which the permission can no longer be used.")
    payee: str = Field(description="The only address the tokens can be sent to.")


class PermissionCaveat(BaseModel):
    """One caveat of the signed delegations, decoded."""

    delegation: int = Field(description="Index in the permission context (0 is the leaf).")
    enforcer: str = Field(description="The caveat enforcer contract.")
    enforcer_name: str | None = Field(
        description="The enforcer's contract name on this network; null if unknown."
    )
    type: CaveatType
    terms: dict[str, Any] = Field(
        description="The decoded terms; for `unknown`, the raw terms as `raw` (0x-hex)."
    )


class Permission(BaseModel):
    """A customer's on-chain grant: a delegation Cyphera redeems to collect each period."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PERMISSION_EXAMPLE]})

    id: str
    object: Literal["permission"] = "permission"
    account: str = Field(description="The customer's wallet that granted the permission.")
    caveats: list[PermissionCaveat]
    chain_id: int
    created: int
    customer: str
    delegate: str = Field(description="Cyphera's redeemer, the only account that can use it.")
    delegation_hash: str
    delegation_manager: str
    livemode: bool
    network: str
    revoked_at: int | None
    replaced_by: str | None = Field(
        default=None,
        description="The permission that took over its subscription (a price change that needed "
        "a larger cap). Cyphera never charges a replaced permission again; its `status` still "
        "tells its on-chain state, and the customer may revoke it on-chain.",
    )
    source: PermissionSource = Field(
        description="`eip712`: a delegation signed by a 7702-upgraded or smart account; "
        "`erc7715`: a wallet's `wallet_requestExecutionPermissions` grant."
    )
    status: PermissionStatus = Field(
        description="`expired` once `terms.expires` has passed, whatever was last recorded."
    )
    terms: GrantedPermissionTerms
    verified: bool = Field(
        description="Whether every term was decoded from the signed permission context and "
        "agrees with what Cyphera recorded when it validated the grant."
    )

    @classmethod
    def from_model(
        cls, permission: PermissionModel, decoded: DecodedPermission, *, now: datetime
    ) -> Permission:
        terms = decoded.terms
        return cls(
            id=permission.id,
            account=permission.account,
            caveats=[
                PermissionCaveat(
                    delegation=c.delegation_index,
                    enforcer=c.enforcer,
                    enforcer_name=c.enforcer_name,
                    type=c.type,
                    terms=c.terms,
                )
                for c in decoded.caveats
            ],
            chain_id=permission.chain_id,
            created=to_unix(permission.created_at),
            customer=permission.customer_id,
            delegate=permission.delegate,
            delegation_hash=permission.delegation_hash,
            delegation_manager=permission.delegation_manager,
            livemode=permission.mode is Mode.LIVE,
            network=permission.network,
            revoked_at=None if permission.revoked_at is None else to_unix(permission.revoked_at),
            replaced_by=permission.replaced_by_id,
            source=permission.source,
            status=effective_status(permission, at=now),
            terms=GrantedPermissionTerms(
                token=terms.token_symbol,
                token_address=terms.token_address,
                token_decimals=terms.token_decimals,
                amount_per_period=str(terms.amount_per_period),
                amount_per_period_cents=_cents(terms.amount_per_period, terms.token_decimals),
                period_seconds=terms.period_seconds,
                start=to_unix(terms.start_at),
                expires=to_unix(terms.expires_at),
                payee=terms.payee,
            ),
            verified=decoded.verified,
        )


def _cents(amount: int, decimals: int) -> int | None:
    """`amount` token units as cents of a USD stablecoin, only when exact (never rounded)."""
    if decimals < USD_DECIMALS:
        scale: int = 10 ** (USD_DECIMALS - decimals)
        return amount * scale
    unit: int = 10 ** (decimals - USD_DECIMALS)
    cents, remainder = divmod(amount, unit)
    return None if remainder else cents


class PermissionListParams(ListParams):
    customer: Annotated[StorableStr, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Only the permissions of this customer."
    )
    status: PermissionStatus | None = Field(
        default=None,
        description="Only permissions in this status (`expired` includes those past their "
        "expiry that were still recorded as active).",
    )
    network: Annotated[StorableStr, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Only permissions on this network (`base`, `base-sepolia`, …)."
    )
