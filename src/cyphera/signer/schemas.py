"""The signer's values as callers see them: plain frozen dataclasses, no protobuf, no grpc.

The API and the worker import these (through `cyphera.signer.client`) and never touch generated
code. Amounts are `int` token base units; addresses are checksummed hex strings; hashes 0x-hex.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ChargeStatus(enum.StrEnum):
    """Where a charge is. Only ``confirmed`` and ``failed`` are terminal.

    - ``pending``: accepted and persisted, not yet broadcast (it may carry a retryable
      ``failure_code`` such as ``chain_unavailable`` saying why it is still waiting);
    - ``submitted``: broadcast, waiting for the network's confirmation depth (a reorg can also
      send a charge back here);
    - ``confirmed``: the transfer is in a block at confirmation depth;
    - ``failed``: proven not to have moved funds (refused by policy, reverted in pre-flight before
      any broadcast, or mined and reverted); ``failure_code`` says why.
    """

    PENDING = "pending"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (ChargeStatus.CONFIRMED, ChargeStatus.FAILED)


class FailureCode(enum.StrEnum):
    """Stable reasons. The first six (and ``policy_violation``) are final on a ``failed`` charge;
    ``chain_unavailable``, ``relayer_underfunded`` and ``gas_budget_exhausted`` are retryable and
    only ever explain why a charge is still ``pending``."""

    INSUFFICIENT_BALANCE = "insufficient_balance"
    PERMISSION_REVOKED = "permission_revoked"
    PERMISSION_EXPIRED = "permission_expired"
    PERIOD_CAP_REACHED = "period_cap_reached"
    INVALID_PERMISSION = "invalid_permission"
    POLICY_VIOLATION = "policy_violation"
    TRANSACTION_REVERTED = "transaction_reverted"
    CHAIN_UNAVAILABLE = "chain_unavailable"
    RELAYER_UNDERFUNDED = "relayer_underfunded"
    GAS_BUDGET_EXHAUSTED = "gas_budget_exhausted"

    @property
    def is_retryable(self) -> bool:
        return self in (
            FailureCode.CHAIN_UNAVAILABLE,
            FailureCode.RELAYER_UNDERFUNDED,
            FailureCode.GAS_BUDGET_EXHAUSTED,
        )


@dataclass(frozen=True, slots=True)
class ChargeInput:
    """One charge to redeem: move `amount` of `token` to `payee` under `permission_context`.

    `idempotency_key` is the caller's deterministic key (for example the invoice's id): asking
    again with the same key returns the same charge and never moves funds twice.
    """

    idempotency_key: str
    chain_id: int
    permission_context: bytes
    token: str
    payee: str
    amount: int


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """A charge's state. ``tx_hash``, ``block_number`` and ``gas_used`` describe the transaction
    that carries it (a batch transaction carries several charges; ``gas_used`` is its total)."""

    idempotency_key: str
    status: ChargeStatus
    chain_id: int
    token: str
    payee: str
    amount: int
    delegation_hash: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    gas_used: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """Would a charge go through now? Read from the chain; nothing was changed."""

    ok: bool
    failure_code: str | None = None
    failure_message: str | None = None
    available_in_period: int | None = None
    token_balance: int | None = None
    is_revoked: bool = False
    is_expired: bool = False


@dataclass(frozen=True, slots=True)
class RelayerStatus:
    """The relayer account on one chain: its native balance, next nonce and transactions the
    signer has in flight there."""

    chain_id: int
    address: str
    balance_wei: int
    nonce: int
    pending_transactions: int
