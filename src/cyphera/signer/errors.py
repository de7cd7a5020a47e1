"""Errors of the signer.

Tree (each also subclasses the `cyphera.exceptions` class that gives its ``kind``)::

    SignerError
    ├── SignerConfigInvalid   invalid      settings are missing or unsafe (refused at start-up)
    ├── ChargeInvalid         invalid      a malformed request (gRPC INVALID_ARGUMENT)
    ├── ChargeConflict        conflict     an idempotency key reused with a different request
    ├── ChargeNotFound        not_found    no charge with that idempotency key
    ├── ChainNotServed        not_found    no RPC configured for that chain id
    ├── ChainUnavailable      unavailable  every RPC endpoint of a chain failed (retryable)
    ├── RelayerUnderfunded    unavailable  the relayer cannot pay for gas (retryable)
    └── GasBudgetExhausted    unavailable  the relayer's gas budget for the hour is spent
                                           (retryable: a leaked token cannot drain it)

`PolicyRefusal` is not an exception callers see: the service turns it into a FAILED charge.
Messages never contain keys, tokens or RPC URLs (which often embed an API key).
"""

from __future__ import annotations

from cyphera.exceptions import AppError, Conflict, InvalidRequest, NotFound, Unavailable
from cyphera.signer.schemas import FailureCode


class SignerError(AppError):
    """Root of the errors raised by `cyphera.signer`."""


class SignerConfigInvalid(SignerError, InvalidRequest):
    code = "signer_config_invalid"


class ChargeInvalid(SignerError, InvalidRequest):
    code = "invalid_charge"


class ChargeConflict(SignerError, Conflict):
    code = "idempotency_key_reused"


class ChargeNotFound(SignerError, NotFound):
    code = "charge_not_found"


class ChainNotServed(SignerError, NotFound):
    code = "chain_not_served"


class ChainUnavailable(SignerError, Unavailable):
    code = FailureCode.CHAIN_UNAVAILABLE.value


class RelayerUnderfunded(SignerError, Unavailable):
    code = FailureCode.RELAYER_UNDERFUNDED.value


class GasBudgetExhausted(SignerError, Unavailable):
    code = FailureCode.GAS_BUDGET_EXHAUSTED.value


class PolicyRefusal(Exception):
    """A charge outside policy; ``code`` is ``policy_violation`` or ``invalid_permission``."""

    def __init__(self, code: FailureCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
