"""ERC-7715 (MetaMask Advanced Permissions): build the request, validate what comes back.

A grant is only a permission context plus claims about it. The claims (``permission.data``,
``rules``) are the wallet's description and may differ from what was asked; the context is what
the chain enforces. `validate_periodic_grant` therefore decodes the context and checks every
delegation and caveat in it against an allow-list, and the platform must key its state by the
returned delegation hash, never by the claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cyphera.delegation import terms
from cyphera.delegation._grant_checks import (
    PERIODIC_PERMISSION_TYPE,
    Dependency,
    check_chain,
    check_expiry,
    classify_caveats,
    decode_terms,
    reject,
    signatures_recover,
    unpack_grant,
)
from cyphera.delegation._values import check_uint, checksum
from cyphera.delegation.addresses import FrameworkAddresses
from cyphera.delegation.caveats import (
    ALLOWED_CALLDATA_ENFORCER,
    ERC20_PERIOD_TRANSFER_ENFORCER,
    NONCE_ENFORCER,
    REDEEMER_ENFORCER,
    VALUE_LTE_ENFORCER,
)
from cyphera.delegation.encoding import decode_permission_context
from cyphera.delegation.errors import DelegationError, TermsError
from cyphera.delegation.hashing import hash_delegation
from cyphera.delegation.structs import Delegation

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

    context, dependencies = unpack_grant(grant_or_context, chain_id=chain_id, framework=framework)
    try:
        delegations = decode_permission_context(context)
    except DelegationError as exc:
        raise reject("malformed_context", exc.message) from exc
    if not delegations:
        raise reject("empty_context", "the permission context holds no delegation")
    check_chain(delegations, redeemer)
    root = delegations[-1]
    if delegator is not None and root.delegator != checksum(delegator, field="delegator"):
        raise reject("wrong_delegator", f"the paying account is {root.delegator}, not {delegator}")

    recovers = signatures_recover(delegations, chain_id=chain_id, manager=manager)
    if require_signature_match and not recovers:
        raise reject("bad_signature", "a signature does not recover to its delegator")

    caveats = classify_caveats(delegations, framework)

    if ERC20_PERIOD_TRANSFER_ENFORCER not in caveats:
        raise reject("period_missing", "no ERC20PeriodTransfer caveat")
    period_index, period_caveat = caveats[ERC20_PERIOD_TRANSFER_ENFORCER]
    period = decode_terms(
        terms.decode_erc20_period_transfer, period_caveat, ERC20_PERIOD_TRANSFER_ENFORCER
    )
    if period.token != token:
        raise reject("token_mismatch", f"the period caveat moves {period.token}, not {token}")
    if period.period_amount != period_amount:
        raise reject(
            "amount_mismatch", f"period amount is {period.period_amount}, not {period_amount}"
        )
    if period.period_duration != period_duration:
        raise reject(
            "period_mismatch", f"period is {period.period_duration}s, not {period_duration}s"
        )
    if start_date is not None and period.start_date != start_date:
        raise reject("start_mismatch", f"periods start at {period.start_date}, not {start_date}")

    if ALLOWED_CALLDATA_ENFORCER not in caveats:
        raise reject("payee_not_locked", "no AllowedCalldata caveat locks the transfer recipient")
    try:
        locked = terms.decode_payee(caveats[ALLOWED_CALLDATA_ENFORCER][1].terms)
    except TermsError as exc:
        raise reject(
            "payee_not_locked", f"AllowedCalldata is not a payee lock: {exc.message}"
        ) from exc
    if locked.address != payee:
        raise reject("payee_mismatch", f"transfers are locked to {locked.address}, not {payee}")

    if VALUE_LTE_ENFORCER in caveats:
        value = decode_terms(
            terms.decode_value_lte, caveats[VALUE_LTE_ENFORCER][1], VALUE_LTE_ENFORCER
        )
        if value.max_value != 0:
            raise reject("value_not_zero", f"ValueLte allows {value.max_value} wei, not 0")

    expiry = check_expiry(
        caveats, not_after_expiry=not_after_expiry, now=now, start=period.start_date
    )

    redeemers: tuple[str, ...] | None = None
    if REDEEMER_ENFORCER in caveats:
        redeemers = decode_terms(
            terms.decode_redeemer, caveats[REDEEMER_ENFORCER][1], REDEEMER_ENFORCER
        ).addresses
        if redeemer not in redeemers:
            raise reject("redeemer_not_allowed", f"the Redeemer caveat does not list {redeemer}")

    nonce: int | None = None
    if NONCE_ENFORCER in caveats:
        nonce = decode_terms(terms.decode_nonce, caveats[NONCE_ENFORCER][1], NONCE_ENFORCER).value

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


__all__ = [
    "PERIODIC_PERMISSION_TYPE",
    "REQUEST_METHOD",
    "Dependency",
    "ValidatedPermission",
    "build_periodic_permission_request",
    "validate_periodic_grant",
]
