"""Revert data → stable reason codes."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from cyphera.delegation import decode_revert
from cyphera.delegation.revert import DELEGATION_MANAGER_ERRORS, OTHER_KNOWN_ERRORS

from .conftest import Reference


def _error_string(reason: str) -> bytes:
    return bytes.fromhex("08c379a0") + encode(["string"], [reason])


def _custom(signature: str, types: list[str], values: list[object]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_manager_error_list_equals_the_abi(reference: Reference) -> None:
    from_abi = reference.call("abiErrors", "DelegationManager")

    assert sorted(signature for signature, _ in DELEGATION_MANAGER_ERRORS) == sorted(from_abi)


def test_delegator_errors_we_know_exist_in_the_7702_account_abi(reference: Reference) -> None:
    from_abi = set(reference.call("abiErrors", "EIP7702StatelessDeleGator"))
    ours = {signature for signature, _ in OTHER_KNOWN_ERRORS if not signature.startswith("ERC20")}

    assert ours <= from_abi


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        ("CannotUseADisabledDelegation()", "permission_revoked"),
        ("InvalidDelegate()", "invalid_permission"),
        ("InvalidERC1271Signature()", "invalid_permission"),
        ("EnforcedPause()", "paused"),
        ("AlreadyDisabled()", "already_disabled"),
        ("BatchDataLengthMismatch()", "invalid_request"),
    ],
)
def test_manager_custom_errors(signature: str, code: str) -> None:
    reason = decode_revert(keccak(text=signature)[:4])

    assert (reason.code, reason.kind, reason.name) == (
        code,
        "custom_error",
        signature.split("(")[0],
    )


def test_custom_error_arguments_are_decoded() -> None:
    data = _custom("ECDSAInvalidSignatureLength(uint256)", ["uint256"], [64])

    reason = decode_revert(data)

    assert reason.args == (64,)
    assert reason.message == "ECDSAInvalidSignatureLength(64)"


@pytest.mark.parametrize(
    ("reason_string", "code"),
    [
        ("ERC20PeriodTransferEnforcer:transfer-amount-exceeded", "period_cap_reached"),
        ("TimestampEnforcer:expired-delegation", "permission_expired"),
        ("TimestampEnforcer:early-delegation", "permission_not_yet_valid"),
        ("ERC20PeriodTransferEnforcer:transfer-not-started", "permission_not_yet_valid"),
        ("NonceEnforcer:invalid-nonce", "permission_revoked"),
        ("AllowedCalldataEnforcer:invalid-calldata", "invalid_permission"),
        ("RedeemerEnforcer:unauthorized-redeemer", "invalid_permission"),
        ("ERC20PeriodTransferEnforcer:invalid-method", "invalid_permission"),
        ("CaveatEnforcer:invalid-call-type", "invalid_permission"),
        ("LimitedCallsEnforcer:limit-exceeded", "allowance_exhausted"),
        ("ERC20: transfer amount exceeds balance", "insufficient_balance"),
        ("ERC20: transfer to the zero address", "token_transfer_failed"),
        ("Blacklistable: account is blacklisted", "token_transfer_failed"),
        ("something else entirely", "unknown_revert"),
    ],
)
def test_error_strings(reason_string: str, code: str) -> None:
    reason = decode_revert(_error_string(reason_string))

    assert (reason.code, reason.kind, reason.message) == (code, "error_string", reason_string)


def test_openzeppelin_v5_insufficient_balance() -> None:
    data = _custom(
        "ERC20InsufficientBalance(address,uint256,uint256)",
        ["address", "uint256", "uint256"],
        ["0x" + "12" * 20, 5, 10],
    )

    reason = decode_revert(data)

    assert reason.code == "insufficient_balance"
    assert reason.args == ("0x" + "12" * 20, 5, 10)


def test_panic() -> None:
    reason = decode_revert("0x4e487b71" + (0x11).to_bytes(32, "big").hex())

    assert (reason.code, reason.kind, reason.args) == ("panic", "panic", (0x11,))
    assert "overflow" in reason.message


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"\xde\xad\xbe\xef", "unrecognised"),
        (bytes.fromhex("08c379a0") + b"\x00" * 3, "unrecognised"),
        (keccak(text="InvalidDelegate()")[:4] + b"\x01", "unrecognised"),
        ("not hex", "unrecognised"),
    ],
    ids=["empty", "unknown-selector", "truncated-string", "unexpected-args", "bad-hex"],
)
def test_unknown_or_malformed_data_never_raises(data: bytes | str, kind: str) -> None:
    reason = decode_revert(data)

    assert (reason.code, reason.kind) == ("unknown_revert", kind)
