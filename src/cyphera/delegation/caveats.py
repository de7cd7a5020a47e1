"""Caveat sets the platform builds itself, and the enforcer names they refer to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    include_value_lte: bool = False,
) -> list[Caveat]:
    """Our caveats for a recurring charge, cheapest set that is still safe, in evaluation order.

    1. ``Timestamp(0, expiry)`` first, so an expired permission reverts as ``permission_expired``
       before any other caveat can name a less useful reason;
    2. ``ERC20PeriodTransfer(token, period_amount, period_duration, start_date)``: the only way to
       move funds is ``token.transfer`` within the per-period cap (single call, default mode);
    3. ``AllowedCalldata(4, abi.encode(payee))``: the transfer's recipient is the merchant;
    4. only with ``include_value_lte=True``: ``ValueLte(0)``, no native value may ride along.

    No Redeemer caveat: the leaf delegate already is our redeemer and the manager only lets the
    delegate redeem, so it would cost ~23k gas per charge for nothing.

    Why ``ValueLte(0)`` is off by default. The v1.3.0 period enforcer does *not* check the
    execution's value: its ``_validateAndConsumeTransfer`` decodes ``(address target_,, bytes
    calldata callData_) = ...decodeSingle()`` and never reads it (tag v1.3.0 and main as of
    2026-05; a ``require(value_ == 0, "...invalid-value-in-erc20-transfer")`` exists only on the
    unmerged ``fix/audit-april-2025-4.13`` branch). ValueLte(0) closes that gap on-chain, but it
    costs ~20k gas per charge: ~151.5k against ~131.4k per charge batched (50 customers) in the
    steady state, 4.40x against 3.82x a plain ERC-20 transfer (``make bench-gas``, see
    docs/benchmarks.md), which misses the 4.0x target. Without it, the period cap, payee lock
    and expiry are still enforced on-chain, and a value-carrying execution still cannot move the
    customer's ETH, because:

    - the only call the period enforcer lets through is ``transfer(address,uint256)`` on the
      delegation's token, and tokens are allow-listed per network (the chain registry lists
      verified native USDC/USDT only; the signer refuses any other token);
    - those tokens' ``transfer`` is non-payable, so a call with value > 0 reverts (proved against
      the test token in ``tests/delegation/test_onchain.py``). USDC's ``FiatTokenProxy`` has a
      payable fallback, but it delegatecalls a non-payable ``transfer`` of the implementation,
      and ``msg.value`` is preserved across a delegatecall, so that reverts too;
    - the signer's policy builds the execution itself, always with value 0.

    Pass ``include_value_lte=True`` for a token whose ``transfer`` might be payable, or for
    defence in depth against a compromised redeemer key where the gas does not matter.
    `cyphera.delegation.erc7715.validate_periodic_grant` accepts both shapes (and requires
    ``ValueLte`` to be 0 when present).
    """
    period_terms = terms.erc20_period_transfer(token, period_amount, period_duration, start_date)
    if check_uint(expiry, field="expiry", error=TermsError) <= start_date:
        raise TermsError("expiry must be later than start_date", code="value_out_of_range")
    caveats = [
        Caveat(enforcer=framework.enforcer(TIMESTAMP_ENFORCER), terms=terms.timestamp(0, expiry)),
        Caveat(enforcer=framework.enforcer(ERC20_PERIOD_TRANSFER_ENFORCER), terms=period_terms),
        Caveat(enforcer=framework.enforcer(ALLOWED_CALLDATA_ENFORCER), terms=terms.payee(payee)),
    ]
    if include_value_lte:
        caveats.append(
            Caveat(enforcer=framework.enforcer(VALUE_LTE_ENFORCER), terms=terms.value_lte(0))
        )
    return caveats


@dataclass(frozen=True, slots=True)
class PeriodicCaveatTerms:
    """What a periodic delegation's caveats allow, decoded from their bytes (`read_periodic`)."""

    token: str
    period_amount: int
    period_duration: int
    start_date: int
    expiry: int | None
    payee: str | None


def read_periodic(caveats: Sequence[Caveat], framework: FrameworkAddresses) -> PeriodicCaveatTerms:
    """Decode the period cap, expiry and payee lock of `caveats`, enforcers named by `framework`.

    For showing a customer what they are about to sign: the words come from the bytes the wallet
    signs, not from the price they were computed from. Raises `TermsError` when there is no
    ERC20PeriodTransfer caveat or a caveat's terms do not decode. `expiry`/`payee` are None when
    no Timestamp / AllowedCalldata caveat sets them.
    """
    names = {address.lower(): name for name, address in framework.enforcers.items()}
    by_name = {names.get(caveat.enforcer.lower()): caveat for caveat in caveats}
    period_caveat = by_name.get(ERC20_PERIOD_TRANSFER_ENFORCER)
    if period_caveat is None:
        raise TermsError("no ERC20PeriodTransfer caveat", code="period_missing")
    period = terms.decode_erc20_period_transfer(period_caveat.terms)
    timestamp = by_name.get(TIMESTAMP_ENFORCER)
    payee = by_name.get(ALLOWED_CALLDATA_ENFORCER)
    return PeriodicCaveatTerms(
        token=period.token,
        period_amount=period.period_amount,
        period_duration=period.period_duration,
        start_date=period.start_date,
        expiry=None
        if timestamp is None
        else terms.decode_timestamp(timestamp.terms).before or None,
        payee=None if payee is None else terms.decode_payee(payee.terms).address,
    )
