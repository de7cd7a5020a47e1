"""The body of ``cyphera dev``: infrastructure up, demo data in, processes supervised."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

import httpx

from cyphera.chain.devnet.anvil import port_is_free
from cyphera.chain.networks import rpc_env_var
from cyphera.config import Settings, SignerClientSettings
from cyphera.dev import stack
from cyphera.dev.demo_customers import subscribe_demo_customers
from cyphera.dev.record import RunningStack
from cyphera.dev.seed import demo_owner_address, open_demo_checkout, open_demo_link, seed_demo
from cyphera.dev.supervisor import Child, Supervisor
from cyphera.exceptions import Unavailable
from cyphera.payment.signer_gateway import SignerGateway

log = logging.getLogger("cyphera.dev")


def _step(message: str) -> float:
    print(f"==> {message}", flush=True)  # noqa: T201 - progress for the person waiting
    return time.monotonic()


async def _wait_healthy(url: str, supervisor: Supervisor, within: float = 90.0) -> bool:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if any(c.process and c.process.returncode is not None for c in supervisor.children):
                return False
            try:
                if (await client.get(url)).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    return False


async def _wait_listening(
    port: int, supervisor: Supervisor, within: float = 60.0, host: str = "127.0.0.1"
) -> bool:
    """Whether something accepts connections on `port` (the signer's gRPC) within `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(c.process and c.process.returncode is not None for c in supervisor.children):
            return False
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.25)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False


class DevStartError(Unavailable):
    """``cyphera dev`` cannot start; the message says what is in the way and what to do."""

    code = "dev_cannot_start"


def _check_ports(settings: Settings) -> None:
    """Refuse at once a port another program holds, rather than a child dying on it later."""
    wanted = {
        "API": ("CYPHERA_API__PORT", settings.api.port),
        "signer": ("CYPHERA_DEV__SIGNER_PORT", settings.dev.signer_port),
        "anvil": ("CYPHERA_DEV__ANVIL_PORT", settings.dev.anvil_port),
        "worker's metrics": ("CYPHERA_DEV__WORKER_METRICS_PORT", settings.dev.worker_metrics_port),
        "signer's metrics": ("CYPHERA_DEV__SIGNER_METRICS_PORT", settings.dev.signer_metrics_port),
    }
    for service, (variable, port) in wanted.items():
        if not port_is_free(settings.api.host if service == "API" else "127.0.0.1", port):
            raise DevStartError(
                f"port {port} for the {service} is taken by another program (another "
                f"`make dev`?): stop it, or pick another port (e.g. `{variable}={port + 10} "
                "make dev`)"
            )


def run(settings: Settings) -> int:
    started = time.monotonic()
    paths = stack.DevPaths(settings.home)
    running = RunningStack.find(paths.record)
    if running is not None:
        raise DevStartError(
            f"`cyphera dev` already runs from this checkout (pid {running.pid}, API at "
            f"{running.api_url}): use it, or stop it with Ctrl-C in its terminal first"
        )
    _check_ports(settings)
    paths.home.mkdir(parents=True, exist_ok=True)

    _step(f"PostgreSQL (data in {stack.database_dir(paths)})")
    cluster = stack.start_database(paths, port=settings.dev.database_port)
    database_url = cluster.url(stack.DATABASE_NAME, driver="psycopg")

    _step("local chain (anvil, prague) with the Delegation Framework v1.3.0 and test USDC/USDT")
    try:
        devnet = stack.start_chain(paths, port=settings.dev.anvil_port)
    except BaseException:
        cluster.stop()
        raise
    anvil, deployment = devnet.anvil, devnet.deployment
    try:
        _step("demo data")
        seeded = asyncio.run(seed_demo(database_url))

        env = {
            "CYPHERA_DATABASE__URL": database_url,
            "CYPHERA_CHAIN__LOCAL_DEPLOYMENT": str(paths.deployment),
            rpc_env_var("local"): anvil.rpc_url,
            "CYPHERA_SIGNER_DATABASE__URL": database_url,
            "CYPHERA_SIGNER_LOCAL_DEPLOYMENT_PATH": str(paths.deployment),
            "CYPHERA_SIGNER_LISTEN_ADDRESS": f"127.0.0.1:{settings.dev.signer_port}",
            "CYPHERA_SIGNER__TARGET": f"127.0.0.1:{settings.dev.signer_port}",
            # The dev relayer is a public anvil key; it only ever holds local-chain ETH.
            "CYPHERA_SIGNER_RELAYER_PRIVATE_KEY": stack.relayer_account().key.hex(),
            "CYPHERA_WORKER__METRICS_PORT": str(settings.dev.worker_metrics_port),
            "CYPHERA_SIGNER_METRICS_PORT": str(settings.dev.signer_metrics_port),
        }
        python = [sys.executable, "-m", "cyphera"]
        supervisor = Supervisor(
            [
                Child("signer", [*python, "signer"], env),
                Child("api", [*python, "api"], env),
                Child("worker", [*python, "worker"], env),
            ]
        )

        async def main() -> int:
            await supervisor.start()
            if not await _wait_healthy(f"{settings.api.public_url}/healthz", supervisor):
                supervisor.say("dev", "the API did not become healthy; stopping")
                await supervisor.stop()
                return 1
            # The demo session and customers need the signer (its relayer is their delegate).
            if not await _wait_listening(settings.dev.signer_port, supervisor):
                supervisor.say("dev", "the signer did not start listening; stopping")
                await supervisor.stop()
                return 1
            api = settings.api.public_url
            lines = [
                "",
                f"Cyphera is up in {time.monotonic() - started:.1f}s",
                f"  API           {api}/v1   (docs {api}/docs)",
                f"  health        {api}/healthz",
                f"  metrics       {api}/metrics   worker http://127.0.0.1:"
                f"{settings.dev.worker_metrics_port}/metrics   signer http://127.0.0.1:"
                f"{settings.dev.signer_metrics_port}/metrics",
                f"  chain         {anvil.rpc_url}  (chain id {deployment.chain_id})",
                f"  database      {database_url.replace('+psycopg', '')}",
                f"  demo workspace {seeded.workspace_id}",
            ]
            demo_gateway = SignerGateway.from_settings(
                SignerClientSettings(target=f"127.0.0.1:{settings.dev.signer_port}")
            )
            try:
                # First start only: three demo customers subscribe and pay on the local chain,
                # so the dashboard has real figures to show. Demo data never stops the stack.
                supervisor.say("dev", "demo customers subscribing on the local chain…")
                try:
                    demo_customers = await subscribe_demo_customers(
                        database_url,
                        workspace_id=seeded.workspace_id,
                        registry=devnet.registry,
                        gateway=demo_gateway,
                        devnet=devnet,
                        permission_lifetime_days=settings.billing.permission_lifetime_days,
                    )
                except Exception as exc:
                    demo_customers = 0
                    supervisor.say("dev", f"demo customers not subscribed: {exc}")
                checkout_url = await open_demo_checkout(
                    database_url,
                    workspace_id=seeded.workspace_id,
                    registry=devnet.registry,
                    gateway=demo_gateway,
                    base_url=api,
                )
            finally:
                await demo_gateway.close()
            if demo_customers:
                lines.append(
                    f"  demo data     {demo_customers} customers subscribed, first charges on chain"
                )
            if checkout_url is not None:
                lines.append(f"  demo checkout {checkout_url}")
            link_url = await open_demo_link(
                database_url,
                workspace_id=seeded.workspace_id,
                registry=devnet.registry,
                base_url=api,
            )
            if link_url is not None:
                lines.append(f"  demo link     {link_url}")
            lines.append(f"  portal        {api}/portal   (customers sign in with their wallet)")
            lines.append(
                f"  dashboard     {api}/dashboard   (sign in with anvil's account 0, "
                f"{demo_owner_address()}: it owns the demo workspace)"
            )
            if seeded.secret_key:
                lines.append(f"  demo API key  {seeded.secret_key}   (shown once: keep it)")
            else:
                lines.append(
                    "  demo API key  created on first run; make a new one with "
                    "`uv run cyphera workspace create --name NAME`"
                )
            lines.append("Press Ctrl-C to stop.")
            RunningStack(
                pid=os.getpid(), database_url=database_url, api_url=api, rpc_url=anvil.rpc_url
            ).save(paths.record)
            for line in lines:
                supervisor.say("dev", line)
            return await supervisor.wait()

        return asyncio.run(main())
    finally:
        RunningStack.clear(paths.record)
        _step("stopping the chain (state saved) and PostgreSQL")
        anvil.stop()
        cluster.stop()
