"""`SignerClient`: how the API and the worker talk to the signer.

Callers get and give plain dataclasses (`cyphera.signer.schemas`) and `cyphera.exceptions`
errors; protobuf and grpc stay inside this module::

    async with SignerClient(target, token, timeout_seconds=30) as signer:
        [result] = await signer.redeem_charges([ChargeInput(...)], wait_seconds=20)

Error mapping: UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED → `Unavailable` (safe to
retry: charges are idempotent), UNAUTHENTICATED → `Unauthenticated`, PERMISSION_DENIED →
`Forbidden`, INVALID_ARGUMENT → `InvalidRequest`, NOT_FOUND → `NotFound`, ALREADY_EXISTS /
FAILED_PRECONDITION / ABORTED → `Conflict`, anything else → `InternalError`. The server's stable
error code travels in the ``cyphera-error-code`` trailer and becomes the error's ``code``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from grpc import aio

from cyphera.config import SignerClientSettings
from cyphera.exceptions import (
    AppError,
    Conflict,
    Forbidden,
    InternalError,
    InvalidRequest,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from cyphera.signer.convert import (
    charge_from_proto,
    charge_request_to_proto,
    preflight_from_proto,
    relayer_status_from_proto,
)
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2 as pb
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2_grpc as pb_grpc
from cyphera.signer.schemas import ChargeInput, ChargeResult, PreflightResult, RelayerStatus

ERROR_CODE_TRAILER = "cyphera-error-code"
ERROR_PARAM_TRAILER = "cyphera-error-param"

_T = TypeVar("_T")

_ERRORS: dict[grpc.StatusCode, type[AppError]] = {
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Unavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Unavailable,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: Forbidden,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequest,
    grpc.StatusCode.OUT_OF_RANGE: InvalidRequest,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.ABORTED: Conflict,
}


def _app_error(exc: aio.AioRpcError) -> AppError:
    trailers = {str(k): str(v) for k, v in (exc.trailing_metadata() or ())}
    error_type = _ERRORS.get(exc.code(), InternalError)
    message = exc.details() or f"signer call failed: {exc.code().name}"
    if exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
        message = "the signer did not answer before the deadline; the call is safe to retry"
    return error_type(
        message,
        code=trailers.get(ERROR_CODE_TRAILER) or None,
        param=trailers.get(ERROR_PARAM_TRAILER) or None,
    )


class SignerClient:
    """An authenticated async client of the signer (one channel, reused across calls).

    `credentials` switches to TLS (``grpc.ssl_channel_credentials(...)``); without it the channel
    is plaintext, which is for a loopback or private-network signer only.
    """

    def __init__(
        self,
        target: str,
        token: str,
        timeout_seconds: float = 30.0,
        *,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._channel = (
            aio.secure_channel(target, credentials)
            if credentials is not None
            else aio.insecure_channel(target)
        )
        self._stub = pb_grpc.SignerStub(self._channel)

    @classmethod
    def from_settings(cls, settings: SignerClientSettings) -> SignerClient:
        """A client from the API/worker settings section ``CYPHERA_SIGNER__*``."""
        return cls(settings.target, settings.token.get_secret_value(), settings.timeout_seconds)

    def __repr__(self) -> str:
        return "SignerClient(token=**********)"

    async def _call(
        self,
        method: Callable[..., Awaitable[_T]],
        request: Any,
        *,
        deadline_seconds: float | None = None,
    ) -> _T:
        try:
            return await method(
                request, metadata=self._metadata, timeout=deadline_seconds or self._timeout
            )
        except aio.AioRpcError as exc:
            raise _app_error(exc) from None

    async def redeem_charges(
        self, charges: Sequence[ChargeInput], wait_seconds: int = 0
    ) -> list[ChargeResult]:
        """Submit `charges` (idempotent per key); results come back in request order.

        With `wait_seconds` > 0 the signer answers once every charge is terminal, or blocked on a
        retryable condition, or the wait is over; the call's deadline allows for the wait.
        """
        request = pb.RedeemChargesRequest(
            charges=[charge_request_to_proto(c) for c in charges], wait_seconds=wait_seconds
        )
        response: pb.RedeemChargesResponse = await self._call(
            self._stub.RedeemCharges, request, deadline_seconds=self._timeout + wait_seconds
        )
        return [charge_from_proto(c) for c in response.charges]

    async def get_charge(self, idempotency_key: str) -> ChargeResult | None:
        """The charge `idempotency_key`, or None if the signer never accepted it."""
        try:
            message: pb.Charge = await self._call(
                self._stub.GetCharge, pb.GetChargeRequest(idempotency_key=idempotency_key)
            )
        except NotFound:
            return None
        return charge_from_proto(message)

    async def preflight(self, charge: ChargeInput) -> PreflightResult:
        """Would `charge` go through now? Reads the chain; changes nothing."""
        response: pb.PreflightChargeResponse = await self._call(
            self._stub.PreflightCharge,
            pb.PreflightChargeRequest(charge=charge_request_to_proto(charge)),
        )
        return preflight_from_proto(response)

    async def relayer_status(self, chain_id: int) -> RelayerStatus:
        """The relayer's address, balance, nonce and in-flight transactions on `chain_id`."""
        response: pb.RelayerStatus = await self._call(
            self._stub.GetRelayerStatus, pb.GetRelayerStatusRequest(chain_id=chain_id)
        )
        return relayer_status_from_proto(response)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
