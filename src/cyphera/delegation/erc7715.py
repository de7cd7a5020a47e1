"""ERC-7715 (MetaMask Advanced Permissions): build the request, validate what comes back.

A grant is only a permission context plus claims about it. The claims (``permission.data``,
``rules``) are the wallet's description and may differ from what was asked; the context is what
the chain enforces. `validate_periodic_grant` therefore decodes the context and checks every
delegation and caveat in it against an allow-list, and the platform must key its state by the
returned delegation hash, never by the claims.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cyphera.delegation import terms
from cyphera.delegation._values import check_uint, checksum, hex_to_bytes
from cyphera.delegation.addresses import FrameworkAddresses
from cyphera.delegation.caveats import (
    ALLOWED_CALLDATA_ENFORCER,
    ERC20_PERIOD_TRANSFER_ENFORCER,
    NONCE_ENFORCER,
    PERIODIC_ENFORCERS,
    REDEEMER_ENFORCER,
    TIMESTAMP_ENFORCER,
    VALUE_LTE_ENFORCER,
)
from cyphera.delegation.encoding import decode_permission_context
from cyphera.delegation.errors import DelegationError, PermissionRejected, TermsError
from cyphera.delegation.hashing import hash_delegation
from cyphera.delegation.signing import recover_delegation_signer
from cyphera.delegation.structs import ANY_DELEGATE, ROOT_AUTHORITY, Caveat, Delegation

_T = TypeVar("_T")

PERIODIC_PERMISSION_TYPE = "erc20-token-periodic"
REQUEST_METHOD = "wallet_requestExecutionPermissions"


def build_periodic_permission_request(
    *,
    chain_id: int,
    redeemer: str,
    token: str,
    period_amount: int,
    period_duration: int,
    start_time: int,
    expiry: int,
    payee: str,
    justification: str,
    from_address: str | None = None,
    redeemer_rule: bool = False,
) -> dict[str, Any]:
    """One item of the `wallet_requestExecutionPermissions` params array.

    Shaped as `@metamask/smart-accounts-kit`'s ``permissionRequestToRpc`` emits it (types from
    `@metamask/7715-permission-types`): ``chainId`` and ``periodAmount`` are minimal 0x-hex,
    times and ``periodDuration`` are JSON numbers, addresses checksummed. Adjustment is not
    allowed, since `validate_periodic_grant` insists on the exact terms. Rules: ``expiry`` and
    ``payee`` (which MetaMask turns into Timestamp and AllowedCalldata(4, payee) caveats), plus
    ``redeemer`` if `redeemer_rule` — normally redundant, because ``to`` is already the only
    address that can redeem.
    """
    check_uint(chain_id, field="chain_id", minimum=1)
    # Builds (and so validates) the terms MetaMask will put on-chain for these numbers.
    terms.erc20_period_transfer(token, period_amount, period_duration, start_time)
    if check_uint(expiry, field="expiry", bits=128, error=TermsError) <= start_time:
        raise TermsError("expiry must be later than start_time", code="value_out_of_range")
    rules: list[dict[str, Any]] = [
        {"type": "expiry", "data": {"timestamp": expiry}},
    ]
    if redeemer_rule:
        rules.append(
            {"type": "redeemer", "data": {"addresses": [checksum(redeemer, field="redeemer")]}}
        )
    rules.append({"type": "payee", "data": {"addresses": [checksum(payee, field="payee")]}})
    request: dict[str, Any] = {
        "chainId": hex(chain_id),
        "to": checksum(redeemer, field="redeemer"),
        "permission": {
            "type": PERIODIC_PERMISSION_TYPE,
            "isAdjustmentAllowed": False,
            "data": {
                "tokenAddress": checksum(token, field="token"),
                "periodAmount": hex(period_amount),
                "periodDuration": period_duration,
                "startTime": start_time,
                "justification": justification,
            },
        },
        "rules": rules,
    }
    if from_address is not None:
        request = {"from": checksum(from_address, field="from_address"), **request}
    return request


@dataclass(frozen=True, slots=True)
class Dependency:
    """A factory call that must run once before the grant can be redeemed (ERC-4337 style)."""

    factory: str
    factory_data: bytes


@dataclass(frozen=True, slots=True)
class ValidatedPermission:
    """A permission context that passed `validate_periodic_grant`, with its decoded terms.

    ``delegation_hash`` is the hash of the delegation carrying the period caveat: the period
    enforcer keys its state (and `getAvailableAmount`, `TransferredInPeriod`) by it. For the usual
    single-delegation context it equals ``leaf_delegation_hash``.
    """

    permission_context: bytes
    delegations: tuple[Delegation, ...]
    chain_id: int
    delegation_manager: str
    delegator: str
    redeemer: str
    delegation_hash: bytes
    leaf_delegation_hash: bytes
    token: str
    period_amount: int
    period_duration: int
    start_date: int
    expiry: int
    payee: str
    period_terms: bytes
    nonce: int | None
    redeemers: tuple[str, ...] | None
    signature_recovers_delegator: bool
    dependencies: tuple[Dependency, ...] = ()


def _reject(code: str, message: str) -> PermissionRejected:
    return PermissionRejected(code, message)


def _unpack_grant(
    grant_or_context: Mapping[str, Any] | bytes | str,
    *,
    chain_id: int,
    framework: FrameworkAddresses,
) -> tuple[bytes, tuple[Dependency, ...]]:
    """The raw context and dependencies, after checking the grant's envelope claims."""
    if isinstance(grant_or_context, bytes | bytearray):
        return bytes(grant_or_context), ()
    if isinstance(grant_or_context, str):
        return _hex_field(grant_or_context, "context"), ()
    grant = grant_or_context
    if "context" not in grant:
        raise _reject("malformed_grant", "the grant has no context")
    if "delegationManager" not in grant:
        raise _reject("malformed_grant", "the grant has no delegationManager")
    try:
        manager = checksum(grant["delegationManager"], field="delegationManager")
    except DelegationError as exc:
        raise _reject("malformed_grant", exc.message) from exc
    if manager != checksum(framework.delegation_manager):
        raise _reject("wrong_manager", f"the grant names manager {manager}, not this chain's")
    if "chainId" in grant:
        claimed = grant["chainId"]
        try:
            claimed_id = int(claimed, 16) if isinstance(claimed, str) else int(claimed)
        except (TypeError, ValueError) as exc:
            raise _reject("malformed_grant", f"chainId {claimed!r} is not a number") from exc
        if claimed_id != chain_id:
            raise _reject("wrong_chain", f"the grant is for chain {claimed_id}, not {chain_id}")
    permission = grant.get("permission")
    if isinstance(permission, Mapping) and permission.get("type") not in (
        None,
        PERIODIC_PERMISSION_TYPE,
    ):
        raise _reject(
            "wrong_permission_type", f"permission type {permission.get('type')!r} is not periodic"
        )
    dependencies: list[Dependency] = []
    for item in grant.get("dependencies") or ():
        try:
            dependencies.append(
                Dependency(
                    factory=checksum(item["factory"], field="factory"),
                    factory_data=hex_to_bytes(item["factoryData"], field="factoryData"),
                )
            )
        except (DelegationError, KeyError, TypeError) as exc:
            raise _reject("malformed_grant", f"malformed dependency {item!r}") from exc
    return _hex_field(grant["context"], "context"), tuple(dependencies)


def _hex_field(value: object, field: str) -> bytes:
    try:
        return hex_to_bytes(value, field=field)
    except DelegationError as exc:
        raise _reject("malformed_context", exc.message) from exc


def _check_chain(delegations: list[Delegation], redeemer: str) -> None:
    leaf = delegations[0]
    if leaf.delegate == checksum(ANY_DELEGATE):
        raise _reject(
            "wrong_delegate", "the leaf delegation is open (ANY_DELEGATE); anyone could redeem it"
        )
    if leaf.delegate != redeemer:
        raise _reject(
            "wrong_delegate", f"the leaf delegate is {leaf.delegate}, not our redeemer {redeemer}"
        )
    for index, (child, parent) in enumerate(itertools.pairwise(delegations)):
        if child.authority != hash_delegation(parent):
            raise _reject(
                "broken_chain",
                f"delegation {index}'s authority is not the hash of delegation {index + 1}",
            )
        if child.delegator != parent.delegate:
            raise _reject(
                "broken_chain",
                f"delegation {index}'s delegator is not delegation {index + 1}'s delegate",
            )
    if delegations[-1].authority != ROOT_AUTHORITY:
        raise _reject(
            "not_root", "the last delegation is not a root delegation (authority != ROOT_AUTHORITY)"
        )
    for index, delegation in enumerate(delegations):
        if not delegation.signature:
            raise _reject("unsigned", f"delegation {index} carries no signature")


def _classify_caveats(
    delegations: list[Delegation], framework: FrameworkAddresses
) -> dict[str, tuple[int, Caveat]]:
    """Enforcer name → (delegation index, caveat); refuses unknown, unsupported and duplicates."""
    names = {checksum(address): name for name, address in framework.enforcers.items()}
    found: dict[str, tuple[int, Caveat]] = {}
    for index, delegation in enumerate(delegations):
        for caveat in delegation.caveats:
            name = names.get(caveat.enforcer)
            if name is None:
                raise _reject(
                    "unknown_enforcer",
                    f"enforcer {caveat.enforcer} is not a known enforcer of this chain",
                )
            if name not in PERIODIC_ENFORCERS:
                raise _reject(
                    "unsupported_enforcer", f"{name} is not allowed in a periodic permission"
                )
            if name in found:
                raise _reject("duplicate_caveat", f"{name} appears more than once")
            found[name] = (index, caveat)
    return found


def _decode(decoder: Callable[[bytes], _T], caveat: Caveat, name: str) -> _T:
    try:
        return decoder(caveat.terms)
    except TermsError as exc:
        raise _reject("invalid_terms", f"{name} terms: {exc.message}") from exc


def validate_periodic_grant(
    grant_or_context: Mapping[str, Any] | bytes | str,
    *,
    chain_id: int,
    framework: FrameworkAddresses,
    redeemer: str,
    token: str,
    period_amount: int,
    period_duration: int,
    payee: str,
    not_after_expiry: int,
    now: int | None = None,
    start_date: int | None = None,
    delegator: str | None = None,
    require_signature_match: bool = False,
) -> ValidatedPermission:
    """Check a granted ``erc20-token-periodic`` permission against what we asked for.

    `grant_or_context` is a `wallet_requestExecutionPermissions` response item (its
    ``delegationManager`` and ``chainId`` are checked too), or a bare permission context as bytes
    or 0x-hex — our own EIP-712 delegations arrive that way. Accepted shapes: MetaMask's set
    (ERC20PeriodTransfer, ValueLte(0), Nonce, optional Timestamp, Redeemer, AllowedCalldata) and
    ours (`default_periodic_caveats`). Every caveat of every delegation in the chain must be one of
    those six enforcers, at this chain's address, at most once.

    Optional checks: `now` (the permission must not have expired), `start_date` (exact period start),
    `delegator` (the paying account), `require_signature_match` (each signature must ECDSA-recover
    to its delegator, which holds for EOA and EIP-7702 accounts but not for HybridDeleGator).

    Raises `PermissionRejected` with one of: ``malformed_grant``, ``malformed_context``,
    ``empty_context``, ``wrong_manager``, ``wrong_chain``, ``wrong_permission_type``,
    ``wrong_delegate``, ``broken_chain``, ``not_root``, ``unsigned``, ``wrong_delegator``,
    ``bad_signature``, ``unknown_enforcer``, ``unsupported_enforcer``, ``duplicate_caveat``,
    ``invalid_terms``, ``period_missing``, ``token_mismatch``, ``amount_mismatch``,
    ``period_mismatch``, ``start_mismatch``, ``payee_not_locked``, ``payee_mismatch``,
    ``value_not_zero``, ``expiry_missing``, ``expiry_invalid``, ``expiry_too_long``, ``expired``,
    ``redeemer_not_allowed``.
    """
    redeemer = checksum(redeemer, field="redeemer")
    token = checksum(token, field="token")
    payee = checksum(payee, field="payee")
    manager = checksum(framework.delegation_manager, field="delegation_manager")

    context, dependencies = _unpack_grant(grant_or_context, chain_id=chain_id, framework=framework)
    try:
        delegations = decode_permission_context(context)
    except DelegationError as exc:
        raise _reject("malformed_context", exc.message) from exc
    if not delegations:
        raise _reject("empty_context", "the permission context holds no delegation")
    _check_chain(delegations, redeemer)
    root = delegations[-1]
    if delegator is not None and root.delegator != checksum(delegator, field="delegator"):
        raise _reject("wrong_delegator", f"the paying account is {root.delegator}, not {delegator}")

    recovers = _signatures_recover(delegations, chain_id=chain_id, manager=manager)
    if require_signature_match and not recovers:
        raise _reject("bad_signature", "a signature does not recover to its delegator")

    caveats = _classify_caveats(delegations, framework)

    if ERC20_PERIOD_TRANSFER_ENFORCER not in caveats:
        raise _reject("period_missing", "no ERC20PeriodTransfer caveat")
    period_index, period_caveat = caveats[ERC20_PERIOD_TRANSFER_ENFORCER]
    period = _decode(
        terms.decode_erc20_period_transfer, period_caveat, ERC20_PERIOD_TRANSFER_ENFORCER
    )
    if period.token != token:
        raise _reject("token_mismatch", f"the period caveat moves {period.token}, not {token}")
    if period.period_amount != period_amount:
        raise _reject(
            "amount_mismatch", f"period amount is {period.period_amount}, not {period_amount}"
        )
    if period.period_duration != period_duration:
        raise _reject(
            "period_mismatch", f"period is {period.period_duration}s, not {period_duration}s"
        )
    if start_date is not None and period.start_date != start_date:
        raise _reject("start_mismatch", f"periods start at {period.start_date}, not {start_date}")

    if ALLOWED_CALLDATA_ENFORCER not in caveats:
        raise _reject("payee_not_locked", "no AllowedCalldata caveat locks the transfer recipient")
    try:
        locked = terms.decode_payee(caveats[ALLOWED_CALLDATA_ENFORCER][1].terms)
    except TermsError as exc:
        raise _reject(
            "payee_not_locked", f"AllowedCalldata is not a payee lock: {exc.message}"
        ) from exc
    if locked.address != payee:
        raise _reject("payee_mismatch", f"transfers are locked to {locked.address}, not {payee}")

    if VALUE_LTE_ENFORCER in caveats:
        value = _decode(terms.decode_value_lte, caveats[VALUE_LTE_ENFORCER][1], VALUE_LTE_ENFORCER)
        if value.max_value != 0:
            raise _reject("value_not_zero", f"ValueLte allows {value.max_value} wei, not 0")

    expiry = _check_expiry(
        caveats, not_after_expiry=not_after_expiry, now=now, start=period.start_date
    )

    redeemers: tuple[str, ...] | None = None
    if REDEEMER_ENFORCER in caveats:
        redeemers = _decode(
            terms.decode_redeemer, caveats[REDEEMER_ENFORCER][1], REDEEMER_ENFORCER
        ).addresses
        if redeemer not in redeemers:
            raise _reject("redeemer_not_allowed", f"the Redeemer caveat does not list {redeemer}")

    nonce: int | None = None
    if NONCE_ENFORCER in caveats:
        nonce = _decode(terms.decode_nonce, caveats[NONCE_ENFORCER][1], NONCE_ENFORCER).value

    return ValidatedPermission(
        permission_context=context,
        delegations=tuple(delegations),
        chain_id=chain_id,
        delegation_manager=manager,
        delegator=root.delegator,
        redeemer=redeemer,
        delegation_hash=hash_delegation(delegations[period_index]),
        leaf_delegation_hash=hash_delegation(delegations[0]),
        token=period.token,
        period_amount=period.period_amount,
        period_duration=period.period_duration,
        start_date=period.start_date,
        expiry=expiry,
        payee=locked.address,
        period_terms=period_caveat.terms,
        nonce=nonce,
        redeemers=redeemers,
        signature_recovers_delegator=recovers,
        dependencies=dependencies,
    )


def _check_expiry(
    caveats: dict[str, tuple[int, Caveat]], *, not_after_expiry: int, now: int | None, start: int
) -> int:
    if TIMESTAMP_ENFORCER not in caveats:
        raise _reject("expiry_missing", "no Timestamp caveat: the permission would never expire")
    window = _decode(terms.decode_timestamp, caveats[TIMESTAMP_ENFORCER][1], TIMESTAMP_ENFORCER)
    if window.before == 0:
        raise _reject("expiry_missing", "the Timestamp caveat sets no expiry")
    if window.after != 0:
        # MetaMask's own decoder refuses this too; the period start already says when charging starts.
        raise _reject("expiry_invalid", "the Timestamp caveat sets a not-before time")
    if window.before <= start:
        raise _reject("expiry_invalid", "the permission expires before its first period starts")
    if window.before > not_after_expiry:
        raise _reject("expiry_too_long", f"expiry {window.before} is later than {not_after_expiry}")
    if now is not None and window.before <= now:
        raise _reject("expired", f"the permission expired at {window.before}")
    return window.before


def _signatures_recover(delegations: list[Delegation], *, chain_id: int, manager: str) -> bool:
    for delegation in delegations:
        try:
            signer = recover_delegation_signer(
                delegation, chain_id=chain_id, delegation_manager=manager
            )
        except DelegationError:
            return False
        if signer != delegation.delegator:
            return False
    return True
