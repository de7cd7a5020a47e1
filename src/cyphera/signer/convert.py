"""Protobuf messages ↔ the signer's dataclasses. The only module besides the gRPC edges that
touches generated code, shared by the client and the servicer so both read the contract alike."""

from __future__ import annotations

from cyphera.signer.errors import ChargeInvalid
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2 as pb
from cyphera.signer.schemas import (
    ChargeInput,
    ChargeResult,
    ChargeStatus,
    PreflightResult,
    RelayerStatus,
)

_STATUS_TO_PROTO = {
    ChargeStatus.PENDING: pb.CHARGE_STATUS_PENDING,
    ChargeStatus.SUBMITTED: pb.CHARGE_STATUS_SUBMITTED,
    ChargeStatus.CONFIRMED: pb.CHARGE_STATUS_CONFIRMED,
    ChargeStatus.FAILED: pb.CHARGE_STATUS_FAILED,
}
_STATUS_FROM_PROTO = {value: key for key, value in _STATUS_TO_PROTO.items()}
_UINT256_DIGITS = 78


def parse_amount(value: str) -> int:
    """A decimal string of token base units that fits a uint256, else `ChargeInvalid`."""
    if not value.isascii() or not value.isdigit() or len(value) > _UINT256_DIGITS:
        raise ChargeInvalid("amount must be a decimal string of token base units", param="amount")
    amount = int(value)
    if amount >= 2**256:
        raise ChargeInvalid("amount does not fit a uint256", param="amount")
    return amount


def charge_request_to_proto(charge: ChargeInput) -> pb.ChargeRequest:
    return pb.ChargeRequest(
        idempotency_key=charge.idempotency_key,
        chain_id=charge.chain_id,
        permission_context=charge.permission_context,
        token=charge.token,
        payee=charge.payee,
        amount=str(charge.amount),
    )


def charge_request_from_proto(message: pb.ChargeRequest) -> ChargeInput:
    """A `ChargeInput`; `ChargeInvalid` when the amount is not a uint256 decimal string."""
    return ChargeInput(
        idempotency_key=message.idempotency_key,
        chain_id=message.chain_id,
        permission_context=bytes(message.permission_context),
        token=message.token,
        payee=message.payee,
        amount=parse_amount(message.amount),
    )


def charge_to_proto(result: ChargeResult) -> pb.Charge:
    return pb.Charge(
        idempotency_key=result.idempotency_key,
        status=_STATUS_TO_PROTO[result.status],
        chain_id=result.chain_id,
        token=result.token,
        payee=result.payee,
        amount=str(result.amount),
        delegation_hash=result.delegation_hash or "",
        tx_hash=result.tx_hash or "",
        block_number=result.block_number or 0,
        gas_used=result.gas_used or 0,
        failure_code=result.failure_code or "",
        failure_message=result.failure_message or "",
    )


def charge_from_proto(message: pb.Charge) -> ChargeResult:
    status = _STATUS_FROM_PROTO.get(message.status)
    if status is None:
        raise ChargeInvalid(f"the signer answered an unknown charge status {message.status}")
    return ChargeResult(
        idempotency_key=message.idempotency_key,
        status=status,
        chain_id=message.chain_id,
        token=message.token,
        payee=message.payee,
        amount=int(message.amount or "0"),
        delegation_hash=message.delegation_hash or None,
        tx_hash=message.tx_hash or None,
        block_number=message.block_number or None,
        gas_used=message.gas_used or None,
        failure_code=message.failure_code or None,
        failure_message=message.failure_message or None,
    )


def preflight_to_proto(result: PreflightResult) -> pb.PreflightChargeResponse:
    return pb.PreflightChargeResponse(
        ok=result.ok,
        failure_code=result.failure_code or "",
        failure_message=result.failure_message or "",
        available_in_period=""
        if result.available_in_period is None
        else str(result.available_in_period),
        token_balance="" if result.token_balance is None else str(result.token_balance),
        is_revoked=result.is_revoked,
        is_expired=result.is_expired,
    )


def preflight_from_proto(message: pb.PreflightChargeResponse) -> PreflightResult:
    return PreflightResult(
        ok=message.ok,
        failure_code=message.failure_code or None,
        failure_message=message.failure_message or None,
        available_in_period=int(message.available_in_period)
        if message.available_in_period
        else None,
        token_balance=int(message.token_balance) if message.token_balance else None,
        is_revoked=message.is_revoked,
        is_expired=message.is_expired,
    )


def relayer_status_to_proto(status: RelayerStatus) -> pb.RelayerStatus:
    return pb.RelayerStatus(
        chain_id=status.chain_id,
        address=status.address,
        balance_wei=str(status.balance_wei),
        nonce=status.nonce,
        pending_transactions=status.pending_transactions,
    )


def relayer_status_from_proto(message: pb.RelayerStatus) -> RelayerStatus:
    return RelayerStatus(
        chain_id=message.chain_id,
        address=message.address,
        balance_wei=int(message.balance_wei or "0"),
        nonce=message.nonce,
        pending_transactions=message.pending_transactions,
    )
