"""The gRPC servicer: protobuf in, `SignerService` call, protobuf out, errors as status codes.

Every call runs under a budget: the client's deadline when it set one (minus a margin so the
answer can still travel back), else the signer's default. `AppError` kinds map to status codes
here and nowhere else; the stable error code and parameter travel as trailers
(``cyphera-error-code``, ``cyphera-error-param``). Unexpected errors are logged and answered
INTERNAL without details.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from grpc import aio

from cyphera.exceptions import AppError, ErrorKind
from cyphera.signer.convert import (
    charge_request_from_proto,
    charge_to_proto,
    preflight_to_proto,
    relayer_status_to_proto,
)
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2 as pb
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2_grpc as pb_grpc
from cyphera.signer.service import SignerService

log = logging.getLogger(__name__)

_T = TypeVar("_T")

STATUS_BY_KIND: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.CONFLICT: grpc.StatusCode.ALREADY_EXISTS,
    ErrorKind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorKind.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.RATE_LIMITED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
}
# Time kept back from the client's deadline to build and send the answer.
_DEADLINE_MARGIN_SECONDS = 0.5


class SignerServicer(pb_grpc.SignerServicer):
    """Implements ``cyphera.signer.v1.Signer`` on top of `SignerService`."""

    def __init__(
        self, service: SignerService, *, default_deadline_seconds: float, max_wait_seconds: float
    ) -> None:
        self._service = service
        self._default_deadline = default_deadline_seconds
        self._max_wait = max_wait_seconds

    def _budget(self, context: aio.ServicerContext) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self._default_deadline
        return max(min(float(remaining) - _DEADLINE_MARGIN_SECONDS, self._default_deadline), 0.0)

    async def _run(
        self, context: aio.ServicerContext, call: Callable[[float], Awaitable[_T]]
    ) -> _T:
        budget = self._budget(context)
        try:
            async with asyncio.timeout(budget):
                return await call(budget)
        except AppError as exc:
            await _abort(context, exc)
        except TimeoutError:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                "the call's deadline passed; charges are idempotent, ask again",
            )
        except Exception:
            log.exception("grpc.internal_error")
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        raise AssertionError("context.abort returned")  # pragma: no cover

    async def RedeemCharges(
        self, request: pb.RedeemChargesRequest, context: aio.ServicerContext
    ) -> pb.RedeemChargesResponse:
        async def call(budget: float) -> pb.RedeemChargesResponse:
            charges = [charge_request_from_proto(c) for c in request.charges]
            # Leave time after the wait for the final read and the answer.
            wait = min(float(request.wait_seconds), self._max_wait, max(budget - 1.0, 0.0))
            results = await self._service.redeem(charges, wait_seconds=wait)
            return pb.RedeemChargesResponse(charges=[charge_to_proto(r) for r in results])

        return await self._run(context, call)

    async def GetCharge(
        self, request: pb.GetChargeRequest, context: aio.ServicerContext
    ) -> pb.Charge:
        async def call(_: float) -> pb.Charge:
            return charge_to_proto(await self._service.get(request.idempotency_key))

        return await self._run(context, call)

    async def PreflightCharge(
        self, request: pb.PreflightChargeRequest, context: aio.ServicerContext
    ) -> pb.PreflightChargeResponse:
        async def call(_: float) -> pb.PreflightChargeResponse:
            charge = charge_request_from_proto(request.charge)
            return preflight_to_proto(await self._service.preflight(charge))

        return await self._run(context, call)

    async def GetRelayerStatus(
        self, request: pb.GetRelayerStatusRequest, context: aio.ServicerContext
    ) -> pb.RelayerStatus:
        async def call(_: float) -> pb.RelayerStatus:
            return relayer_status_to_proto(await self._service.relayer_status(request.chain_id))

        return await self._run(context, call)


async def _abort(context: aio.ServicerContext, exc: AppError) -> NoReturn:
    trailers: list[tuple[str, Any]] = [("cyphera-error-code", exc.code)]
    if exc.param:
        trailers.append(("cyphera-error-param", exc.param))
    status = STATUS_BY_KIND.get(exc.kind, grpc.StatusCode.INTERNAL)
    if status is grpc.StatusCode.INTERNAL:
        log.error("grpc.app_internal_error code=%s message=%s", exc.code, exc.message)
    await context.abort(status, exc.message, trailing_metadata=tuple(trailers))
    raise AssertionError("context.abort returned")  # pragma: no cover
