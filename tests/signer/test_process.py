"""`cyphera signer` as its own process: configured from the environment only, serving a charge,
stopping cleanly on SIGTERM, and printing neither the key nor the token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from cyphera.chain.devnet import free_port
from cyphera.exceptions import Unavailable
from cyphera.signer.client import SignerClient
from cyphera.signer.schemas import ChargeStatus
from tests.signer.conftest import TOKEN, USDC, SignerWorld

_RUN_CLI = "from cyphera.signer.cli import app; app(prog_name='cyphera signer')"


async def _until_serving(client: SignerClient, process: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        assert process.returncode is None, "the signer exited during start-up"
        try:
            await client.get_charge("probe")
        except Unavailable:
            await asyncio.sleep(0.05)
        else:
            return
    raise AssertionError("the signer did not start serving")


async def test_the_signer_process_serves_and_stops_on_sigterm(
    world: SignerWorld, tmp_path: Path
) -> None:
    deployment = tmp_path / "deployment.json"
    world.chain.deployment.save(deployment)
    port = free_port()
    key_hex = bytes(world.relayer.key).hex()
    env = {
        **os.environ,
        "CYPHERA_RPC_LOCAL": world.chain.rpc_url,
        "CYPHERA_SIGNER_LOCAL_DEPLOYMENT_PATH": str(deployment),
        "CYPHERA_SIGNER_DATABASE__URL": world.database_url,
        "CYPHERA_SIGNER_RELAYER_PRIVATE_KEY": key_hex,
        "CYPHERA_SIGNER_LISTEN_ADDRESS": f"127.0.0.1:{port}",
        "CYPHERA_SIGNER_AUTH_TOKENS": TOKEN,
        "CYPHERA_SIGNER_POLL_INTERVAL_SECONDS": "0.1",
        "CYPHERA_SIGNER_LOG_LEVEL": "DEBUG",
    }
    grant = world.grant(world.customer())
    log_path = tmp_path / "signer.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _RUN_CLI, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        async with SignerClient(f"127.0.0.1:{port}", TOKEN, 10) as client:
            await _until_serving(client, process)
            [result] = await client.redeem_charges(
                [grant.charge("process", amount=USDC)], wait_seconds=10
            )
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    text = log_path.read_text(errors="replace")
    assert result.status is ChargeStatus.CONFIRMED
    assert world.balance(grant.payee) == USDC
    assert process.returncode == 0, text
    assert "signer.started" in text
    assert "signer.stopped" in text
    assert key_hex not in text.lower()
    assert TOKEN not in text
