"""The relayer key and the auth token never reach a log line, whatever the path."""

from __future__ import annotations

import logging

import pytest

from cyphera.signer.client import SignerClient
from cyphera.signer.schemas import ChargeStatus
from tests.signer.conftest import TOKEN, USDC, SignerWorld, StartSigner


async def test_secrets_stay_out_of_the_logs(
    world: SignerWorld, start: StartSigner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    grant = world.grant(world.customer())
    running, client = await start()

    [charged] = await client.redeem_charges([grant.charge("logged", amount=USDC)], wait_seconds=10)
    [refused] = await client.redeem_charges(
        [grant.charge("logged_over", amount=grant.period_amount + 1)], wait_seconds=5
    )
    async with SignerClient(f"127.0.0.1:{running.port}", "wrong-token", 5) as intruder:
        with pytest.raises(Exception, match="invalid bearer token"):
            await intruder.get_charge("logged")
    await running.stop(grace=0)

    assert charged.status is ChargeStatus.CONFIRMED
    assert refused.status is ChargeStatus.FAILED
    text = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in caplog.records
    ).lower()
    assert "charge.confirmed" in text
    assert "grpc.unauthenticated" in text
    key_hex = bytes(world.relayer.key).hex()
    assert key_hex not in text
    assert TOKEN.lower() not in text
