"""`cyphera dev` (what `make dev` runs), as a person would use it: start, use, stop, start again.

Runs the real command in a subprocess with its own home folder and free ports, so it never
touches a developer's `.cyphera/` or a `make dev` already running.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cyphera.chain.devnet.anvil import dev_accounts
from cyphera.db.cluster import free_port
from cyphera.dev.stack import SERVER_STATE_ROOT, DevPaths, forget
from tests.auth.signin import sign, siwe_text

STARTUP_SECONDS = 240.0


class DevProcess:
    def __init__(self, home: Path, ports: dict[str, int]) -> None:
        self.api_url = f"http://127.0.0.1:{ports['api']}"
        env = {
            **os.environ,
            "CYPHERA_HOME": str(home),
            "CYPHERA_API__PORT": str(ports["api"]),
            "CYPHERA_API__PUBLIC_URL": self.api_url,
            "CYPHERA_DEV__DATABASE_PORT": str(ports["database"]),
            "CYPHERA_DEV__ANVIL_PORT": str(ports["anvil"]),
            "CYPHERA_DEV__SIGNER_PORT": str(ports["signer"]),
            "CYPHERA_DEV__WORKER_METRICS_PORT": str(ports["worker_metrics"]),
            "CYPHERA_DEV__SIGNER_METRICS_PORT": str(ports["signer_metrics"]),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cyphera", "dev"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.output)
                continue
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no {pattern!r} in:\n" + "".join(self.output))

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def dev_home() -> Iterator[Path]:
    # A checkout in a folder only its owner may enter, as in root's home (0700) or `mktemp -d`:
    # as root, the PostgreSQL server (run as `postgres`) cannot reach into it.
    private = Path(tempfile.mkdtemp(prefix="cyphera-dev-private-"))
    assert private.stat().st_mode & 0o777 == 0o700
    home = private / "checkout" / ".cyphera"
    yield home
    forget(DevPaths(home))
    shutil.rmtree(private, ignore_errors=True)


def _scraped(url: str) -> str:
    """`url`'s metrics, waiting for its process to serve them (the worker starts last)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=5).text
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def cli(home: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`cyphera …` in another terminal of the same checkout: only its home and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYPHERA_")}
    return subprocess.run(
        [sys.executable, "-m", "cyphera", *args],
        env={**env, "CYPHERA_HOME": str(home), **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dev_starts_serves_stops_cleanly_and_restarts_from_its_state(dev_home: Path) -> None:
    ports = {
        name: free_port()
        for name in ("api", "database", "anvil", "signer", "worker_metrics", "signer_metrics")
    }

    first = DevProcess(dev_home, ports)
    try:
        # On a first start three demo customers subscribe and pay on the local chain.
        assert first.wait_for(r"demo data\s+(\d+) customers").group(1) == "3"
        checkout_url = first.wait_for(r"demo checkout\s+(\S+)").group(1)
        link_url = first.wait_for(r"demo link\s+(\S+/l/plink_\w+)").group(1)
        portal_url = first.wait_for(r"portal\s+(\S+/portal)").group(1)
        dashboard_url = first.wait_for(r"dashboard\s+(\S+/dashboard)").group(1)
        key = first.wait_for(r"demo API key\s+(sk_test_\w+)").group(1)
        first.wait_for(r"Press Ctrl-C to stop")
        # The printed checkout opens, without any key, on the demo price.
        page = httpx.get(checkout_url)
        assert page.status_code == 200
        assert "Pro plan" in page.text
        assert "$19.99" in page.text
        # The printed payment link opens a new checkout of the same price at every visit.
        visits = [httpx.get(link_url, follow_redirects=True) for _ in range(2)]
        for visit in visits:
            assert visit.status_code == 200
            assert "Pro plan" in visit.text
            assert [r.status_code for r in visit.history] == [303]
        assert visits[0].url != visits[1].url
        assert httpx.get(f"{first.api_url}/healthz").status_code == 200
        # Every process serves its metrics where the banner says
        banner = "".join(first.output)
        metrics = re.search(r"metrics\s+(\S+/metrics)\s+worker (\S+)\s+signer (\S+)", banner)
        assert metrics is not None, banner
        for url, family in zip(
            metrics.groups(),
            ("cyphera_http_requests_total", "cyphera_jobs", "cyphera_signer_relayer_balance_wei"),
            strict=True,
        ):
            assert family in _scraped(url), url
        prices = httpx.get(
            f"{first.api_url}/v1/prices", headers={"Authorization": f"Bearer {key}"}
        ).json()
        assert [p["unit_amount"] for p in prices["data"]] == [1999]
        assert httpx.get(f"{first.api_url}/v1/prices").status_code == 401
        # The printed portal asks for a wallet; a merchant's portal link opens it for a customer.
        assert "Sign in with your wallet" in httpx.get(portal_url).text
        merchant = {"Authorization": f"Bearer {key}"}
        customer = httpx.post(
            f"{first.api_url}/v1/customers",
            json={"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
            headers=merchant,
        ).json()["id"]
        link = httpx.post(
            f"{first.api_url}/v1/billing_portal/sessions",
            json={"customer": customer},
            headers=merchant,
        ).json()["url"]
        opened = httpx.get(link, follow_redirects=True)
        assert opened.status_code == 200
        assert "No subscriptions for this account yet." in opened.text
        # The printed dashboard signs anvil's account 0 in to the demo workspace.
        with httpx.Client() as browser:
            nonce = browser.post(f"{dashboard_url}/api/nonce").json()
            owner = dev_accounts(1)[0]
            text = siwe_text(
                owner.address,
                nonce["nonce"],
                domain=nonce["domain"],
                statement=nonce["statement"],
                uri=nonce["uri"],
                issued_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            signed = browser.post(
                f"{dashboard_url}/api/sign-in",
                json={"message": text, "signature": sign(owner, text)},
            )
            assert signed.status_code == 200, signed.text
            home = browser.get(dashboard_url, follow_redirects=True)
            assert home.status_code == 200
            assert "Demo Store" in home.text
            # The demo customers' subscriptions are the figures: 3 × $19.99 a month
            assert 'data-figure="mrr">$59.97<' in home.text
            assert 'data-figure="active">3<' in home.text

        # The CLI of another terminal finds this stack on its non-default ports.
        created = cli(dev_home, "workspace", "create", "--name", "Second shop", "--json")
        assert created.returncode == 0, created.stderr
        second_key = json.loads(created.stdout)["secret_key"]
        own = httpx.get(
            f"{first.api_url}/v1/prices", headers={"Authorization": f"Bearer {second_key}"}
        )
        assert own.status_code == 200
        assert own.json()["data"] == []

        # A second `make dev` from the same checkout says so in one line.
        again = cli(dev_home, "dev")
        assert again.returncode == 1
        assert again.stderr.startswith("error: `cyphera dev` already runs from this checkout")
        assert "Traceback" not in again.stderr + again.stdout
        assert first.interrupt() == 0
    finally:
        first.kill()
    assert (dev_home / "chain" / "deployment.json").is_file()
    assert (dev_home / "postgres" / "PG_VERSION").is_file()
    assert not (dev_home / "dev.json").exists()
    if os.geteuid() == 0:
        # The server's user could not enter the checkout: the cluster lives where it can.
        assert (dev_home / "postgres").is_symlink()
        assert (dev_home / "postgres").resolve().is_relative_to(SERVER_STATE_ROOT)

    second = DevProcess(dev_home, ports)
    try:
        # The same demo link, found again rather than made twice.
        assert second.wait_for(r"demo link\s+(\S+)").group(1) == link_url
        second.wait_for(r"Press Ctrl-C to stop")
        # The same demo workspace and key: the database was kept, no second seed happened.
        assert "sk_test_" not in "".join(second.output)
        prices_again = httpx.get(
            f"{second.api_url}/v1/prices", headers={"Authorization": f"Bearer {key}"}
        ).json()
        assert prices_again["data"][0]["id"] == prices["data"][0]["id"]
        assert second.interrupt() == 0
    finally:
        second.kill()


def test_dev_with_its_database_port_taken_says_what_to_do(dev_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {name: free_port() for name in ("api", "anvil", "signer")}
        result = cli(
            dev_home,
            "dev",
            CYPHERA_API__PORT=str(ports["api"]),
            CYPHERA_DEV__ANVIL_PORT=str(ports["anvil"]),
            CYPHERA_DEV__SIGNER_PORT=str(ports["signer"]),
            CYPHERA_DEV__DATABASE_PORT=str(port),
        )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if not line.startswith("20")]
    assert errors == [
        f"error: port {port} on 127.0.0.1 is taken by another program, so PostgreSQL cannot "
        "listen there: stop that program, or pick another port "
        f"(e.g. `CYPHERA_DEV__DATABASE_PORT={port + 10} make dev`)"
    ]
    assert "Traceback" not in result.stdout
    assert not (dev_home / "postgres" / "PG_VERSION").exists()  # no cluster was made
