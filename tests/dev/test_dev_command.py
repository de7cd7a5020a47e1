"""`cyphera dev` (what `make dev` runs), as a person would use it: start, use, stop, start again.

Runs the real command in a subprocess with its own home folder and free ports, so it never
touches a developer's `.cyphera/` or a `make dev` already running.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cyphera.db.cluster import free_port

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
    home = Path(tempfile.mkdtemp(prefix="cyphera-dev-home-"))
    home.chmod(0o755)  # the PostgreSQL server runs as `postgres` when we are root
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_dev_starts_serves_stops_cleanly_and_restarts_from_its_state(dev_home: Path) -> None:
    ports = {name: free_port() for name in ("api", "database", "anvil", "signer")}

    first = DevProcess(dev_home, ports)
    try:
        key = first.wait_for(r"demo API key\s+(sk_test_\w+)").group(1)
        first.wait_for(r"Press Ctrl-C to stop")
        assert httpx.get(f"{first.api_url}/healthz").status_code == 200
        prices = httpx.get(
            f"{first.api_url}/v1/prices", headers={"Authorization": f"Bearer {key}"}
        ).json()
        assert [p["unit_amount"] for p in prices["data"]] == [1999]
        assert httpx.get(f"{first.api_url}/v1/prices").status_code == 401
        assert first.interrupt() == 0
    finally:
        first.kill()
    assert (dev_home / "chain" / "deployment.json").is_file()
    assert (dev_home / "postgres" / "PG_VERSION").is_file()

    second = DevProcess(dev_home, ports)
    try:
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
