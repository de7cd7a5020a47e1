"""The signer process: authentication, assembly of the parts, start-up resume and shutdown.

`start_signer` wires database, chains, transaction manager, engine, service and the grpc.aio
server, resumes everything in flight, then opens the port. `serve` runs that until SIGTERM or
SIGINT and shuts down gracefully (in-flight calls get a grace period; the engine stops between
database transactions, leaving only resumable state).

Every call must carry ``authorization: Bearer <token>``; `BearerTokenInterceptor` compares it in
constant time with each configured token and refuses anything else with UNAUTHENTICATED before any
handler runs. Tokens and keys never reach a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc import aio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cyphera.chain.local import LocalDeployment
from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.db.engine import create_engine, create_sessionmaker
from cyphera.kit.metrics import MetricsServer, refresh_periodically
from cyphera.signer.chains import ChainRuntime, build_chains, close_chains
from cyphera.signer.config import SignerSettings
from cyphera.signer.engine import SignerEngine
from cyphera.signer.errors import ChainUnavailable, SignerConfigInvalid
from cyphera.signer.keys import RelayerKey, load_relayer_key
from cyphera.signer.metrics import SignerMetrics
from cyphera.signer.processor import ChargeProcessor
from cyphera.signer.proto.cyphera.signer.v1 import signer_pb2_grpc as pb_grpc
from cyphera.signer.service import SignerService
from cyphera.signer.servicer import SignerServicer
from cyphera.signer.tracker import Tracker
from cyphera.signer.txmanager import FeeOracle, TxHook, TxManager

log = logging.getLogger(__name__)

_BEARER = "bearer "
GRACE_SECONDS = 5.0


class BearerTokenInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses, with UNAUTHENTICATED, every call without a valid ``authorization: Bearer`` token."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if not tokens or not all(tokens):
            raise SignerConfigInvalid("the signer needs at least one non-empty auth token")
        self._tokens = [token.encode() for token in tokens]

        async def refuse(request: Any, context: aio.ServicerContext) -> None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")

        self._refusal = grpc.unary_unary_rpc_method_handler(refuse)

    def is_valid(self, header: str) -> bool:
        """Whether `header` is ``Bearer <one of the tokens>`` (constant time per token)."""
        if header[: len(_BEARER)].lower() != _BEARER:
            return False
        presented = header[len(_BEARER) :].strip().encode()
        matched = False
        for token in self._tokens:
            # No early exit: the time taken does not tell which token (or how much of one) matched.
            matched |= hmac.compare_digest(presented, token)
        return matched

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        headers = [
            value
            for key, value in (handler_call_details.invocation_metadata or ())
            if key == "authorization"
        ]
        if len(headers) == 1 and isinstance(headers[0], str) and self.is_valid(headers[0]):
            return await continuation(handler_call_details)
        log.warning("grpc.unauthenticated method=%s", handler_call_details.method)
        return self._refusal


@dataclass
class RunningSigner:
    """A started signer: its port, and the parts tests and operators may need to reach."""

    server: aio.Server
    port: int
    engine: SignerEngine
    service: SignerService
    chains: Mapping[int, ChainRuntime]
    relayer: str
    _db_engine: AsyncEngine | None
    metrics: MetricsServer | None = None
    _refreshing: asyncio.Task[None] | None = None

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Refuse new calls, let running ones finish for `grace` seconds, stop the engine."""
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing
        if self.metrics is not None:
            self.metrics.stop()
        await self.server.stop(grace)
        await self.engine.stop()
        await close_chains(self.chains)
        if self._db_engine is not None:
            await self._db_engine.dispose()
        log.info("signer.stopped")


def load_signer_registry(settings: SignerSettings, env: Mapping[str, str]) -> NetworkRegistry:
    """The chain registry with the local deployment (when configured) and RPC URLs from `env`."""
    local = None
    if settings.local_deployment_path is not None:
        local = LocalDeployment.load(settings.local_deployment_path)
    return load_registry(local, env)


async def _check_chain_ids(chains: Mapping[int, ChainRuntime]) -> None:
    for chain_id, chain in chains.items():
        try:
            answered = await chain.rpc.chain_id()
        except ChainUnavailable:
            log.warning("signer.chain_unreachable_at_start chain_id=%s", chain_id)
            continue
        if answered != chain_id:
            # A wrong URL would make every charge there fail; refuse to start instead.
            raise SignerConfigInvalid(
                f"the RPC endpoint configured for chain {chain_id} answers chain id {answered}"
            )


async def start_signer(
    settings: SignerSettings,
    *,
    key: RelayerKey | None = None,
    registry: NetworkRegistry | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    fee_oracle: FeeOracle | None = None,
    before_broadcast: TxHook | None = None,
    after_broadcast: TxHook | None = None,
) -> RunningSigner:
    """Build and start a signer from `settings`; the keyword arguments override its parts
    (tests inject a registry pointing at their chain, fault hooks and fee oracles)."""
    relayer_key = key or load_relayer_key(settings)
    networks = registry or load_signer_registry(settings, os.environ)
    db_engine = None
    if sessionmaker is None:
        db_engine = create_engine(settings.database)
        sessionmaker = create_sessionmaker(db_engine)
    chains = build_chains(
        networks,
        fee_ceilings=settings.max_fee_per_gas_wei,
        default_fee_ceiling=settings.default_max_fee_per_gas_wei,
        rpc_timeout_seconds=settings.rpc_timeout_seconds,
        gas_budgets=settings.gas_budget_per_hour,
        default_gas_budget=settings.default_gas_budget_per_hour,
    )
    try:
        await _check_chain_ids(chains)
        txmanager = TxManager(
            sessionmaker,
            relayer_key,
            fee_oracle=fee_oracle,
            before_broadcast=before_broadcast,
            after_broadcast=after_broadcast,
        )
        engine = SignerEngine(
            chains,
            ChargeProcessor(sessionmaker, txmanager, max_batch_size=settings.max_batch_size),
            Tracker(
                sessionmaker,
                txmanager,
                stuck_after_seconds=settings.stuck_after_seconds,
                reorg_watch_blocks=settings.reorg_watch_blocks,
            ),
            poll_interval_seconds=settings.poll_interval_seconds,
        )
        service = SignerService(sessionmaker, engine, chains, relayer=relayer_key.address)
        await engine.start()
        server = aio.server(
            interceptors=[
                BearerTokenInterceptor([t.get_secret_value() for t in settings.auth_tokens])
            ]
        )
        pb_grpc.add_SignerServicer_to_server(
            SignerServicer(
                service,
                default_deadline_seconds=settings.default_deadline_seconds,
                max_wait_seconds=settings.max_wait_seconds,
            ),
            server,
        )
        port = _add_port(server, settings)
        await server.start()
    except BaseException:
        await close_chains(chains)
        if db_engine is not None:
            await db_engine.dispose()
        raise
    log.info(
        "signer.started listen=%s port=%s relayer=%s chains=%s tls=%s",
        settings.listen_address,
        port,
        relayer_key.address,
        ",".join(str(c) for c in chains),
        settings.tls_cert_path is not None,
    )
    running = RunningSigner(server, port, engine, service, chains, relayer_key.address, db_engine)
    if settings.metrics_port is not None:
        metrics = SignerMetrics(sessionmaker, chains, relayer_key.address)
        running.metrics = MetricsServer.start(settings.metrics_host, settings.metrics_port)
        running._refreshing = asyncio.create_task(
            refresh_periodically(
                "signer", metrics.refresh, interval_seconds=settings.metrics_refresh_seconds
            )
        )
    return running


def _add_port(server: aio.Server, settings: SignerSettings) -> int:
    if settings.tls_cert_path is not None and settings.tls_key_path is not None:
        credentials = grpc.ssl_server_credentials(
            [(settings.tls_key_path.read_bytes(), settings.tls_cert_path.read_bytes())]
        )
        port = server.add_secure_port(settings.listen_address, credentials)
    else:
        port = server.add_insecure_port(settings.listen_address)
    if not port:
        raise SignerConfigInvalid(f"cannot listen on {settings.listen_address}")
    return int(port)


async def serve(settings: SignerSettings) -> None:
    """Run the signer until SIGTERM or SIGINT, then shut down gracefully."""
    running = await start_signer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        log.info("signer.stopping")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await running.stop()
