"""Caveat sets the platform builds itself, and the enforcer names they refer to."""

from __future__ import annotations

from cyphera.delegation import terms
from cyphera.delegation._values import check_uint
from cyphera.delegation.addresses import FrameworkAddresses
from cyphera.delegation.errors import TermsError
from cyphera.delegation.structs import Caveat

# Contract names as MetaMask's artifacts (and `FrameworkAddresses.enforcers`) spell them.
ERC20_PERIOD_TRANSFER_ENFORCER = "ERC20PeriodTransferEnforcer"
VALUE_LTE_ENFORCER = "ValueLteEnforcer"
NONCE_ENFORCER = "NonceEnforcer"
TIMESTAMP_ENFORCER = "TimestampEnforcer"
REDEEMER_ENFORCER = "RedeemerEnforcer"
ALLOWED_CALLDATA_ENFORCER = "AllowedCalldataEnforcer"

PERIODIC_ENFORCERS: tuple[str, ...] = (
    ERC20_PERIOD_TRANSFER_ENFORCER,
    VALUE_LTE_ENFORCER,
    NONCE_ENFORCER,
    TIMESTAMP_ENFORCER,
    REDEEMER_ENFORCER,
    ALLOWED_CALLDATA_ENFORCER,
)
"""Every enforcer an ``erc20-token-periodic`` grant may carry (MetaMask's set and ours)."""


def default_periodic_caveats(
    framework: FrameworkAddresses,
    *,
    token: str,
    period_amount: int,
    period_duration: int,
    start_date: int,
    expiry: int,
    payee: str,
) -> list[Caveat]:
    """Our caveats for a recurring charge, cheapest set that is still safe, in evaluation order.

    1. ``Timestamp(0, expiry)`` first, so an expired permission reverts as ``permission_expired``
       before any other caveat can name a less useful reason;
    2. ``ERC20PeriodTransfer(token, period_amount, period_duration, start_date)``: the only way to
       move funds is ``token.transfer`` within the per-period cap (single call, default mode);
    3. ``AllowedCalldata(4, abi.encode(payee))``: the transfer's recipient is the merchant;
    4. ``ValueLte(0)``: no native value may ride along with the transfer.

    No Redeemer caveat: the leaf delegate already is our redeemer and the manager only lets the
    delegate redeem, so it would cost ~23k gas per charge for nothing.

    ValueLte(0) is kept on purpose, despite its ~23k gas. The claim that the period enforcer only
    allows a zero-value call is false for v1.3.0: its ``_validateAndConsumeTransfer`` decodes the
    execution as ``(address target_,, bytes calldata callData_) = ...decodeSingle()`` and never
    reads the value (MetaMask/delegation-framework tag v1.3.0, and main as of 2026-05; a
    ``require(value_ == 0, "...invalid-value-in-erc20-transfer")`` exists only on the unmerged
    ``fix/audit-april-2025-4.13`` branch). A standard ERC-20 ``transfer`` is non-payable and would
    revert, but with a token whose ``transfer`` is payable, whoever holds the redeemer key could
    move the customer's ETH to the token contract along with each charge.
    """
    period_terms = terms.erc20_period_transfer(token, period_amount, period_duration, start_date)
    if check_uint(expiry, field="expiry", error=TermsError) <= start_date:
        raise TermsError("expiry must be later than start_date", code="value_out_of_range")
    return [
        Caveat(enforcer=framework.enforcer(TIMESTAMP_ENFORCER), terms=terms.timestamp(0, expiry)),
        Caveat(enforcer=framework.enforcer(ERC20_PERIOD_TRANSFER_ENFORCER), terms=period_terms),
        Caveat(enforcer=framework.enforcer(ALLOWED_CALLDATA_ENFORCER), terms=terms.payee(payee)),
        Caveat(enforcer=framework.enforcer(VALUE_LTE_ENFORCER), terms=terms.value_lte(0)),
    ]
