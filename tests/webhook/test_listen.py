"""``cyphera listen``: events forwarded to a local receiver, signed, oldest first, none twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import standardwebhooks
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.event import service as events
from cyphera.kit.clock import FrozenClock
from cyphera.models.mixins import Mode
from cyphera.webhook.listen import PAGE, Listener, ListenError, checked_options
from cyphera.webhook.secrets import new_signing_secret
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.webhooks import add_customer
from tests.webhook.receiver import Receiver


async def test_new_events_are_forwarded_signed_oldest_first_and_once(
    api: httpx.AsyncClient, receiver: Receiver, delivery_clock: FrozenClock
) -> None:
    await add_customer(api)  # before it started: not forwarded
    secret = new_signing_secret()
    said: list[str] = []
    async with httpx.AsyncClient() as forward:
        listener = Listener(
            api,
            forward,
            forward_to=receiver.url("/local"),
            secret=secret,
            clock=delivery_clock,
            say=said.append,
        )
        await listener.start()
        customers = [await add_customer(api) for _ in range(3)]

        assert await listener.poll() == 3
        assert await listener.poll() == 0

    payloads = [
        standardwebhooks.Webhook(secret).verify(r.body, r.headers) for r in receiver.received
    ]
    assert [p["data"]["object_id"] for p in payloads] == customers
    assert [r.headers["webhook-id"] for r in receiver.received] == [p["id"] for p in payloads]
    assert said[0].endswith(f"--> customer.created [{payloads[0]['id']}]")
    assert said[1].endswith(f"<--  [200] POST {receiver.url('/local')} [{payloads[0]['id']}]")


async def test_a_burst_longer_than_a_page_is_forwarded_whole_and_filtered_by_type(
    api: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    receiver: Receiver,
    delivery_clock: FrozenClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with httpx.AsyncClient() as forward:
        listener = Listener(
            api,
            forward,
            forward_to=receiver.url("/local"),
            secret=new_signing_secret(),
            clock=delivery_clock,
            event_types=["invoice.paid"],
            say=lambda line: None,
        )
        await listener.start()
        async with transaction(sessionmaker) as session:
            for number in range(PAGE + 30):
                await events.record(
                    session,
                    workspace_id=workspace.workspace_id,
                    mode=Mode.TEST,
                    type="invoice.paid" if number % 2 else "invoice.created",
                    object_id=f"in_{number}",
                    data={"number": number},
                )

        assert await listener.poll() == PAGE + 30

    numbers = [json.loads(r.body)["data"]["number"] for r in receiver.received]
    assert numbers == list(range(1, PAGE + 30, 2))


def test_options_are_checked_before_anything_connects() -> None:
    with pytest.raises(ListenError, match="pass --live"):
        checked_options(api_key="sk_live_x", live=False, events="", secret=None)
    with pytest.raises(ListenError, match="unknown event types"):
        checked_options(api_key="sk_test_x", live=False, events="invoice.payed", secret=None)
    with pytest.raises(ListenError, match="not a signing secret"):
        checked_options(api_key="sk_test_x", live=False, events="", secret="whsec_")
    chosen = checked_options(
        api_key="sk_test_x", live=False, events="invoice.paid, customer.created", secret=None
    )
    assert chosen.event_types == ("invoice.paid", "customer.created")
    assert chosen.secret.startswith("whsec_")


async def test_the_command_forwards_until_interrupted(
    api: httpx.AsyncClient,
    api_server: str,
    workspace: WorkspaceKeys,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    secret = new_signing_secret()
    command = [
        sys.executable, "-m", "cyphera", "listen",
        "--forward-to", receiver.url("/cli"),
        "--api-url", api_server,
        "--secret", secret,
        "--interval", "0.2",
    ]  # fmt: skip
    environment = os.environ | {
        "CYPHERA_API_KEY": workspace.secret_key,
        "CYPHERA_HOME": str(tmp_path),  # no `make dev` record: the API given is used
    }
    process = await asyncio.create_subprocess_exec(
        *command, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            ready = await process.stdout.readline()
            assert ready.startswith(b"Ready! Forwarding events to")
            assert await process.stdout.readline() == (
                f"Your webhook signing secret is {secret}\n".encode()
            )
            await add_customer(api)
            sent = (await process.stdout.readline()).decode()
            answered = (await process.stdout.readline()).decode()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = await process.communicate()

    assert "   --> customer.created [evt_" in sent
    assert f"<--  [200] POST {receiver.url('/cli')} [evt_" in answered
    [received] = receiver.received
    standardwebhooks.Webhook(secret).verify(received.body, received.headers)
    assert b"Traceback" not in err
    assert process.returncode == 0


def test_a_live_key_needs_live(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "cyphera", "listen", "--forward-to", "http://localhost:1/"],
        env=os.environ | {"CYPHERA_API_KEY": "sk_live_abc", "CYPHERA_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "pass --live" in refused.stderr
