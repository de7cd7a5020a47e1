"""What the signer agrees to redeem, whatever the caller says.

The signer holds the relayer key, so it must not trust the API: a charge is checked here against
the chain registry and the permission itself before anything is signed. The signer builds the
execution (one ERC-20 ``transfer(payee, amount)``) itself; callers only name token, payee and
amount, and those must sit inside what the customer signed:

- the chain is one this signer serves, and the token is one the registry lists for it;
- the permission context decodes canonically; the leaf delegate is our relayer; each delegation's
  authority is its parent's hash and its delegator the parent's delegate; the last one is root;
- every caveat uses one of that chain's framework enforcers (an unknown contract could do
  anything in its hooks);
- at least one ERC20PeriodTransfer caveat, all for this token, and ``0 < amount <= period amount``
  for each;
- at least one AllowedCalldata payee lock, every AllowedCalldata caveat a payee lock naming this
  payee.

Structurally broken permissions are ``invalid_permission``; well-formed ones asking for more than
they allow are ``policy_violation``. Both become a failed charge; nothing is signed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from eth_utils.address import is_checksum_address, to_checksum_address

from cyphera.chain.models import Network
from cyphera.delegation import (
    SINGLE_DEFAULT_MODE,
    Delegation,
    DelegationError,
    FrameworkAddresses,
    decode_permission_context,
    encode_erc20_transfer,
    encode_single_execution,
    hash_delegation,
    terms,
)
from cyphera.delegation.caveats import (
    ALLOWED_CALLDATA_ENFORCER,
    ERC20_PERIOD_TRANSFER_ENFORCER,
    TIMESTAMP_ENFORCER,
)
from cyphera.signer.errors import ChargeInvalid, PolicyRefusal
from cyphera.signer.schemas import ChargeInput, FailureCode

MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_CONTEXT_BYTES = 64 * 1024
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_KEY = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: keys appear in logs and URLs


@dataclass(frozen=True, slots=True)
class Redemption:
    """A charge that passed policy: exactly what will be sent to the manager for it.

    ``delegation_hash`` is the hash of the delegation carrying the (first) period caveat, as
    `cyphera.delegation.erc7715.ValidatedPermission` defines it: the period enforcer keys its state
    and events by it. ``period_terms`` are that caveat's terms (for ``getAvailableAmount``).
    """

    chain_id: int
    permission_context: bytes
    mode: bytes
    execution_calldata: bytes
    delegations: tuple[Delegation, ...]
    delegator: str
    delegation_hash: bytes
    token: str
    payee: str
    amount: int
    period_terms: bytes
    expiry: int | None


def parse_address(value: str, field: str) -> str:
    """A checksummed address, or `ChargeInvalid`; mixed case must be a valid EIP-55 checksum."""
    if not _ADDRESS.match(value):
        raise ChargeInvalid(f"{field} must be a 0x-prefixed 20-byte hex address", param=field)
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise ChargeInvalid(f"{field} has an invalid EIP-55 checksum", param=field)
    return str(to_checksum_address(value))


def check_request_shape(charge: ChargeInput) -> ChargeInput:
    """Refuse a malformed request (`ChargeInvalid`, gRPC INVALID_ARGUMENT); normalise addresses."""
    key = charge.idempotency_key
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not _KEY.match(key):
        raise ChargeInvalid(
            f"idempotency_key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters "
            "without spaces",
            param="idempotency_key",
        )
    if charge.chain_id <= 0:
        raise ChargeInvalid("chain_id is required", param="chain_id")
    if not charge.permission_context:
        raise ChargeInvalid("permission_context is required", param="permission_context")
    if len(charge.permission_context) > MAX_CONTEXT_BYTES:
        raise ChargeInvalid("permission_context is too large", param="permission_context")
    if not 0 <= charge.amount < 2**256:
        raise ChargeInvalid("amount does not fit a uint256", param="amount")
    return ChargeInput(
        idempotency_key=key,
        chain_id=charge.chain_id,
        permission_context=bytes(charge.permission_context),
        token=parse_address(charge.token, "token"),
        payee=parse_address(charge.payee, "payee"),
        amount=charge.amount,
    )


def _violation(message: str) -> PolicyRefusal:
    return PolicyRefusal(FailureCode.POLICY_VIOLATION, message)


def _invalid(message: str) -> PolicyRefusal:
    return PolicyRefusal(FailureCode.INVALID_PERMISSION, message)


def decode_delegations(permission_context: bytes) -> list[Delegation]:
    """The delegations of a context, leaf first; `PolicyRefusal` (invalid_permission) if broken."""
    try:
        delegations = decode_permission_context(permission_context)
    except DelegationError as exc:
        raise _invalid(f"the permission context does not decode: {exc.message}") from exc
    if not delegations:
        raise _invalid("the permission context holds no delegation")
    return delegations


def _check_authority_chain(delegations: list[Delegation]) -> None:
    for child, parent in itertools.pairwise(delegations):
        if child.authority != hash_delegation(parent):
            raise _invalid("a delegation's authority is not its parent's hash")
        if child.delegator != parent.delegate:
            raise _invalid("a delegation's delegator is not its parent's delegate")
    if not delegations[-1].is_root:
        raise _invalid("the last delegation in the context is not a root delegation")


@dataclass
class _Caveats:
    """What the caveats of a whole delegation chain say, as far as policy cares."""

    period: tuple[bytes, bytes] | None = None  # (hash of the delegation carrying it, its terms)
    payees: list[str] = field(default_factory=list)
    expiry: int | None = None


def _read_caveats(
    delegations: list[Delegation], *, framework: FrameworkAddresses, token: str, amount: int
) -> _Caveats:
    known = set(framework.enforcers.values())
    period_enforcer = framework.enforcers.get(ERC20_PERIOD_TRANSFER_ENFORCER)
    calldata_enforcer = framework.enforcers.get(ALLOWED_CALLDATA_ENFORCER)
    timestamp_enforcer = framework.enforcers.get(TIMESTAMP_ENFORCER)
    found = _Caveats()
    for delegation in delegations:
        for caveat in delegation.caveats:
            if caveat.enforcer not in known:
                raise _invalid(f"caveat enforcer {caveat.enforcer} is not a known enforcer")
            try:
                if caveat.enforcer == period_enforcer:
                    cap = terms.decode_erc20_period_transfer(caveat.terms)
                    if cap.token != token:
                        raise _violation("the permission's period cap is for another token")
                    if amount > cap.period_amount:
                        raise _violation(
                            f"amount {amount} exceeds the permission's period cap {cap.period_amount}"
                        )
                    found.period = found.period or (hash_delegation(delegation), caveat.terms)
                elif caveat.enforcer == calldata_enforcer:
                    # Any other AllowedCalldata shape would reject the transfer we build anyway.
                    found.payees.append(terms.decode_payee(caveat.terms).address)
                elif caveat.enforcer == timestamp_enforcer:
                    before = terms.decode_timestamp(caveat.terms).before
                    if before:
                        found.expiry = before if found.expiry is None else min(found.expiry, before)
            except DelegationError as exc:
                raise _invalid(f"caveat terms do not decode: {exc.message}") from exc
    return found


def check_policy(charge: ChargeInput, *, network: Network, relayer: str) -> Redemption:
    """Check `charge` (already shape-checked) against policy; return what to redeem."""
    token = network.token_by_address(charge.token)
    if token is None:
        raise _violation(f"token {charge.token} is not accepted on {network.name}")
    if charge.amount <= 0:
        raise _violation("amount must be greater than zero")
    delegations = decode_delegations(charge.permission_context)
    if delegations[0].delegate != relayer:
        raise _violation("the permission is not delegated to this signer's relayer")
    _check_authority_chain(delegations)
    caveats = _read_caveats(
        delegations, framework=network.framework, token=token.address, amount=charge.amount
    )
    if caveats.period is None:
        raise _violation("the permission has no per-period transfer cap")
    if not caveats.payees:
        raise _violation("the permission does not lock the payee")
    if any(locked != charge.payee for locked in caveats.payees):
        raise _violation(f"payee {charge.payee} is not the payee the permission locks")

    transfer = encode_erc20_transfer(charge.payee, charge.amount)
    return Redemption(
        chain_id=network.chain_id,
        permission_context=charge.permission_context,
        mode=SINGLE_DEFAULT_MODE,
        execution_calldata=encode_single_execution(token.address, 0, transfer),
        delegations=tuple(delegations),
        delegator=delegations[-1].delegator,
        delegation_hash=caveats.period[0],
        token=token.address,
        payee=charge.payee,
        amount=charge.amount,
        period_terms=caveats.period[1],
        expiry=caveats.expiry,
    )
