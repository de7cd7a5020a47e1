"""A stored permission read back from its signed permission context, in human terms.

The ``permissions`` row keeps the terms the server validated, but what the chain enforces is the
permission context (the signed delegations and their caveats). The API shows the terms decoded
from that context, caveat by caveat, and says whether they agree with the stored columns: a
disagreement would mean the books and the chain describe different permissions, so it is logged
as an error and the response carries ``verified: false``.

Enforcers are named by their address on the permission's network (the registry's framework
addresses): caveat terms of different enforcers can have the same length, so a caveat is never
decoded by guessing from its shape. An enforcer the network does not know is shown raw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog
from eth_utils.address import to_checksum_address

from cyphera.chain.models import Network
from cyphera.delegation import decode_permission_context, hash_delegation, terms
from cyphera.delegation.caveats import (
    ALLOWED_CALLDATA_ENFORCER,
    ERC20_PERIOD_TRANSFER_ENFORCER,
    NONCE_ENFORCER,
    REDEEMER_ENFORCER,
    TIMESTAMP_ENFORCER,
    VALUE_LTE_ENFORCER,
)
from cyphera.delegation.errors import DelegationError
from cyphera.kit.clock import from_unix
from cyphera.models import Permission

CaveatType = Literal[
    "erc20_period_transfer",
    "timestamp",
    "payee",
    "allowed_calldata",
    "value_lte",
    "nonce",
    "redeemer",
    "unknown",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DecodedCaveat:
    """One caveat of the context: which delegation carries it, its enforcer, its decoded terms."""

    delegation_index: int
    enforcer: str
    enforcer_name: str | None
    type: CaveatType
    terms: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PermissionTerms:
    """What the permission allows, as the chain enforces it."""

    token_address: str
    token_symbol: str | None
    token_decimals: int
    amount_per_period: int
    period_seconds: int
    start_at: datetime
    expires_at: datetime
    payee: str


@dataclass(frozen=True, slots=True)
class DecodedPermission:
    terms: PermissionTerms
    caveats: tuple[DecodedCaveat, ...] = field(default_factory=tuple)
    verified: bool = False
    """True when every term came from the context and matches the stored columns, and the
    context's paying account, redeemer and delegation hash are the stored ones."""


def decode_permission(permission: Permission, network: Network | None) -> DecodedPermission:
    """`permission`'s terms and caveats decoded from its stored context.

    `network` is the permission's network from the registry (None if the server does not know
    it): it names the enforcers. Never raises for a bad context: the stored columns stand in, and
    ``verified`` is False.
    """
    stored = _stored_terms(permission)
    if network is not None and network.chain_id != permission.chain_id:
        network = None
    try:
        delegations = decode_permission_context(permission.context)
    except DelegationError as exc:
        log.error("permission.context_undecodable", permission_id=permission.id, error=exc.message)
        return DecodedPermission(terms=stored)
    names: dict[str, str] = {}
    if network is not None:
        names = {
            str(to_checksum_address(address)): name
            for name, address in network.framework.enforcers.items()
        }
    caveats: list[DecodedCaveat] = []
    found: dict[str, Any] = {}
    period_delegation_hash: str | None = None
    for index, delegation in enumerate(delegations):
        for caveat in delegation.caveats:
            name = names.get(caveat.enforcer)
            kind, decoded, value = _decode_caveat(name, caveat.terms)
            caveats.append(
                DecodedCaveat(
                    delegation_index=index,
                    enforcer=caveat.enforcer,
                    enforcer_name=name,
                    type=kind,
                    terms=decoded,
                )
            )
            if value is not None and kind not in found:
                found[kind] = value
                if kind == "erc20_period_transfer":
                    period_delegation_hash = "0x" + hash_delegation(delegation).hex()
    period: terms.ERC20PeriodTransferTerms | None = found.get("erc20_period_transfer")
    window: terms.TimestampTerms | None = found.get("timestamp")
    locked: terms.PayeeTerms | None = found.get("payee")
    token_address = period.token if period else stored.token_address
    token = network.token_by_address(token_address) if network is not None else None
    same_token = token_address == stored.token_address
    decoded_terms = PermissionTerms(
        token_address=token_address,
        token_symbol=token.symbol if token else (stored.token_symbol if same_token else None),
        token_decimals=token.decimals if token else stored.token_decimals,
        amount_per_period=period.period_amount if period else stored.amount_per_period,
        period_seconds=period.period_duration if period else stored.period_seconds,
        start_at=from_unix(period.start_date) if period else stored.start_at,
        expires_at=from_unix(window.before) if window and window.before else stored.expires_at,
        payee=locked.address if locked else stored.payee,
    )
    complete = period is not None and window is not None and locked is not None
    matches = (
        decoded_terms == stored
        and period_delegation_hash == permission.delegation_hash.lower()
        and bool(delegations)
        and delegations[-1].delegator == permission.account
        and delegations[0].delegate == permission.delegate
    )
    if complete and not matches:
        log.error(
            "permission.context_mismatch",
            permission_id=permission.id,
            decoded=decoded_terms,
            stored=stored,
        )
    return DecodedPermission(
        terms=decoded_terms, caveats=tuple(caveats), verified=complete and matches
    )


def _stored_terms(permission: Permission) -> PermissionTerms:
    return PermissionTerms(
        token_address=permission.token_address,
        token_symbol=permission.token_symbol,
        token_decimals=permission.token_decimals,
        amount_per_period=permission.period_amount,
        period_seconds=permission.period_seconds,
        start_at=permission.start_at,
        expires_at=permission.expires_at,
        payee=permission.payee,
    )


def _decode_caveat(name: str | None, raw: bytes) -> tuple[CaveatType, dict[str, Any], Any]:
    """(type, human terms, decoded value) of one caveat; unknown or undecodable ones are raw."""
    decoder = _DECODERS.get(name or "")
    if decoder is not None:
        try:
            return decoder(raw)
        except DelegationError:
            pass
    return "unknown", {"raw": "0x" + raw.hex()}, None


def _period(raw: bytes) -> tuple[CaveatType, dict[str, Any], Any]:
    value = terms.decode_erc20_period_transfer(raw)
    return (
        "erc20_period_transfer",
        {
            "token": value.token,
            "period_amount": str(value.period_amount),
            "period_duration": value.period_duration,
            "start_date": value.start_date,
        },
        value,
    )


def _timestamp(raw: bytes) -> tuple[CaveatType, dict[str, Any], Any]:
    value = terms.decode_timestamp(raw)
    return "timestamp", {"after": value.after, "before": value.before}, value


def _allowed_calldata(raw: bytes) -> tuple[CaveatType, dict[str, Any], Any]:
    try:
        value = terms.decode_payee(raw)
    except DelegationError:
        generic = terms.decode_allowed_calldata(raw)
        return (
            "allowed_calldata",
            {"start_index": generic.start_index, "value": "0x" + generic.value.hex()},
            None,
        )
    return "payee", {"payee": value.address}, value


def _value_lte(raw: bytes) -> tuple[CaveatType, dict[str, Any], Any]:
    value = terms.decode_value_lte(raw)
    return "value_lte", {"max_value": str(value.max_value)}, value


def _nonce(raw: bytes) -> tuple[CaveatType, dict[str, Any], Any]:
    value = terms.decode_nonce(raw)
    return "nonce", {"nonce": str(value.value)}, value


def _redeemer(raw: bytes) -> tuple[CaveatType, dict[str, Any], Any]:
    value = terms.decode_redeemer(raw)
    return "redeemer", {"redeemers": list(value.addresses)}, value


_DECODERS: dict[str, Callable[[bytes], tuple[CaveatType, dict[str, Any], Any]]] = {
    ERC20_PERIOD_TRANSFER_ENFORCER: _period,
    TIMESTAMP_ENFORCER: _timestamp,
    ALLOWED_CALLDATA_ENFORCER: _allowed_calldata,
    VALUE_LTE_ENFORCER: _value_lte,
    NONCE_ENFORCER: _nonce,
    REDEEMER_ENFORCER: _redeemer,
}
