"""Turn revert data from a redemption (or its `eth_call` pre-flight) into a stable reason code.

Caveats run in array order and the first failing one reverts, so the reason names exactly one
cause. Sources, in the order we try them:

- DelegationManager v1.3.0 custom errors (the full list of its ABI, pinned by a test);
- errors the DeleGator accounts and OpenZeppelin v5 ERC-20 tokens raise (bubbled up unchanged);
- ``Error(string)``: enforcer strings (``"TimestampEnforcer:expired-delegation"``) and classic
  ERC-20 strings (``"ERC20: transfer amount exceeds balance"``);
- ``Panic(uint256)``.

Codes: ``period_cap_reached``, ``allowance_exhausted``, ``permission_expired``,
``permission_not_yet_valid``, ``permission_revoked``, ``insufficient_balance``,
``token_transfer_failed``, ``invalid_permission``, ``invalid_request``, ``paused``,
``already_disabled``, ``already_enabled``, ``panic``, ``unknown_revert``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_abi.abi import decode
from eth_utils.crypto import keccak

from cyphera.delegation._values import as_bytes, hex_to_bytes

ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]

# (signature, code) for every error in DelegationManager's v1.3.0 ABI.
DELEGATION_MANAGER_ERRORS: tuple[tuple[str, str], ...] = (
    ("AlreadyDisabled()", "already_disabled"),
    ("AlreadyEnabled()", "already_enabled"),
    ("BatchDataLengthMismatch()", "invalid_request"),
    ("CannotUseADisabledDelegation()", "permission_revoked"),
    ("ECDSAInvalidSignature()", "invalid_permission"),
    ("ECDSAInvalidSignatureLength(uint256)", "invalid_permission"),
    ("ECDSAInvalidSignatureS(bytes32)", "invalid_permission"),
    ("EmptySignature()", "invalid_permission"),
    ("EnforcedPause()", "paused"),
    ("ExpectedPause()", "unknown_revert"),
    ("InvalidAuthority()", "invalid_permission"),
    ("InvalidDelegate()", "invalid_permission"),
    ("InvalidDelegator()", "invalid_permission"),
    ("InvalidEOASignature()", "invalid_permission"),
    ("InvalidERC1271Signature()", "invalid_permission"),
    ("InvalidShortString()", "unknown_revert"),
    ("OwnableInvalidOwner(address)", "unknown_revert"),
    ("OwnableUnauthorizedAccount(address)", "unknown_revert"),
    ("StringTooLong(string)", "unknown_revert"),
)

# Errors raised below the manager that bubble up through `redeemDelegations` unchanged.
OTHER_KNOWN_ERRORS: tuple[tuple[str, str], ...] = (
    # DeleGator accounts (EIP7702StatelessDeleGator / HybridDeleGator)
    ("NotDelegationManager()", "invalid_request"),
    ("UnsupportedCallType(bytes1)", "invalid_request"),
    ("UnsupportedExecType(bytes1)", "invalid_request"),
    ("ExecutionFailed()", "token_transfer_failed"),
    # OpenZeppelin v5 IERC20Errors
    ("ERC20InsufficientBalance(address,uint256,uint256)", "insufficient_balance"),
    ("ERC20InvalidSender(address)", "token_transfer_failed"),
    ("ERC20InvalidReceiver(address)", "token_transfer_failed"),
    ("ERC20InsufficientAllowance(address,uint256,uint256)", "token_transfer_failed"),
    ("ERC20InvalidApprover(address)", "token_transfer_failed"),
    ("ERC20InvalidSpender(address)", "token_transfer_failed"),
)

ENFORCER_STRINGS: dict[str, str] = {
    "ERC20PeriodTransferEnforcer:transfer-amount-exceeded": "period_cap_reached",
    "ERC20PeriodTransferEnforcer:transfer-not-started": "permission_not_yet_valid",
    "TimestampEnforcer:expired-delegation": "permission_expired",
    "TimestampEnforcer:early-delegation": "permission_not_yet_valid",
    "NonceEnforcer:invalid-nonce": "permission_revoked",
    "ERC20TransferAmountEnforcer:allowance-exceeded": "allowance_exhausted",
    "ERC20StreamingEnforcer:allowance-exceeded": "allowance_exhausted",
    "LimitedCallsEnforcer:limit-exceeded": "allowance_exhausted",
    "AllowedCalldataEnforcer:invalid-calldata": "invalid_permission",
    "RedeemerEnforcer:unauthorized-redeemer": "invalid_permission",
    "ValueLteEnforcer:value-too-high": "invalid_permission",
}

# Any other "<Name>Enforcer:<reason>" string is a caveat refusing the call as built.
_ENFORCER_STRING = re.compile(r"^[A-Za-z0-9]+Enforcer:[a-z0-9-]+$")
# OpenZeppelin v4 / FiatToken (USDC) / most forks word it this way.
_BALANCE_STRING = re.compile(r"transfer amount exceeds balance|insufficient balance", re.IGNORECASE)

PANIC_REASONS: dict[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


@dataclass(frozen=True, slots=True)
class RevertReason:
    """Why a call reverted.

    ``kind`` is ``custom_error``, ``error_string``, ``panic``, ``empty`` or ``unrecognised``;
    ``name`` is the custom error's name (``"InvalidDelegate"``) or the revert string; ``args`` the
    decoded custom-error arguments (or the panic code).
    """

    code: str
    message: str
    kind: str
    name: str | None = None
    args: tuple[object, ...] = ()
    data: bytes = b""


def _split_signature(signature: str) -> tuple[str, list[str]]:
    name, _, rest = signature.partition("(")
    params = rest[:-1]
    return name, [p for p in params.split(",") if p]


_KNOWN_ERRORS: dict[bytes, tuple[str, list[str], str]] = {
    keccak(text=signature)[:4]: (*_split_signature(signature), code)
    for signature, code in DELEGATION_MANAGER_ERRORS + OTHER_KNOWN_ERRORS
}


def _classify_string(reason: str) -> str:
    if reason in ENFORCER_STRINGS:
        return ENFORCER_STRINGS[reason]
    if _BALANCE_STRING.search(reason):
        return "insufficient_balance"
    if _ENFORCER_STRING.match(reason):
        return "invalid_permission"
    if reason.startswith(("ERC20:", "SafeERC20:")) or "blacklisted" in reason.lower():
        return "token_transfer_failed"
    if reason == "Pausable: paused":
        return "token_transfer_failed"
    return "unknown_revert"


def decode_revert(data: bytes | str) -> RevertReason:
    """Classify revert data (raw bytes or a 0x-hex string from an RPC error). Never raises."""
    try:
        raw = (
            hex_to_bytes(data, field="revert data")
            if isinstance(data, str)
            else as_bytes(data, field="revert data")
        )
    except Exception:
        return RevertReason(
            code="unknown_revert", message="revert data is not bytes or hex", kind="unrecognised"
        )
    if not raw:
        return RevertReason(code="unknown_revert", message="reverted without data", kind="empty")
    selector, body = raw[:4], raw[4:]
    try:
        if selector == ERROR_STRING_SELECTOR:
            (reason,) = decode(["string"], body)
            return RevertReason(
                code=_classify_string(reason),
                message=reason,
                kind="error_string",
                name=reason,
                data=raw,
            )
        if selector == PANIC_SELECTOR:
            (panic_code,) = decode(["uint256"], body)
            explanation = PANIC_REASONS.get(panic_code, "unknown panic code")
            return RevertReason(
                code="panic",
                message=f"Panic(0x{panic_code:02x}): {explanation}",
                kind="panic",
                name="Panic",
                args=(panic_code,),
                data=raw,
            )
        if selector in _KNOWN_ERRORS:
            name, types, code = _KNOWN_ERRORS[selector]
            args = tuple(decode(types, body)) if types else ()
            if not types and body:
                raise ValueError("unexpected error arguments")
            shown = ", ".join(a.hex() if isinstance(a, bytes) else str(a) for a in args)
            return RevertReason(
                code=code,
                message=f"{name}({shown})",
                kind="custom_error",
                name=name,
                args=args,
                data=raw,
            )
    except Exception:
        # A known selector with a body that does not decode: report it, but claim nothing.
        return RevertReason(
            code="unknown_revert",
            message=f"malformed revert data for selector 0x{selector.hex()}",
            kind="unrecognised",
            data=raw,
        )
    return RevertReason(
        code="unknown_revert",
        message=f"unrecognised revert selector 0x{selector.hex()}",
        kind="unrecognised",
        data=raw,
    )
