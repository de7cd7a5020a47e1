"""The seam between billing and the signer: what a charge asks for and what comes back.

Billing code depends on this protocol, not on gRPC; `cyphera.payment.signer_gateway` adapts the
signer's client to it. The signer deduplicates on `key` (our payment id), so asking twice for the
same payment can never move funds twice — that is what makes retries after an unknown outcome safe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class ChargeState(enum.StrEnum):
    PENDING = "pending"  # accepted by the signer, not yet broadcast (or chain unavailable)
    SUBMITTED = "submitted"  # broadcast, waiting for the confirmation depth
    CONFIRMED = "confirmed"
    FAILED = "failed"  # proven: no funds moved


@dataclass(frozen=True, slots=True)
class ChargeOrder:
    key: str
    chain_id: int
    permission_context: bytes
    token: str
    payee: str
    amount: int


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    key: str
    state: ChargeState
    tx_hash: str | None = None
    block_number: int | None = None
    gas_used: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class ChargeGateway(Protocol):
    async def charge(self, order: ChargeOrder, *, wait_seconds: int) -> ChargeOutcome:
        """Submit (or look up, if already submitted) the charge `order.key`."""
        ...

    async def lookup(self, key: str) -> ChargeOutcome | None:
        """The charge `key` if the signer has ever accepted it, else None (it never will move funds
        for a key it has not seen)."""
        ...

    async def redeemer(self, chain_id: int) -> str:
        """The address that redeems delegations on `chain_id`: every delegation's delegate."""
        ...
