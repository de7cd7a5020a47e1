"""Run anvil, the local chain, from the pinned npm package.

`AnvilProcess` starts ``node_modules/@foundry-rs/anvil-<platform>/bin/anvil`` on a free port on
127.0.0.1 with the Prague hardfork (anvil 1.7's default fork is later, and ``cancun`` rejects
EIP-7702), waits until its RPC answers, and stops it by PID (SIGTERM, then SIGKILL). With
``state_path`` anvil loads that file at start and dumps its state there on a clean stop, so a
restarted chain keeps its contracts and balances.
"""

from __future__ import annotations

import atexit
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from cyphera.chain.artifacts import find_project_root
from cyphera.chain.errors import DevnetError, ToolMissing
from cyphera.chain.local import LOCAL_CHAIN_ID

# anvil's (and Hardhat's) well-known development mnemonic; its keys are public. Never fund them
# anywhere but a local chain.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT = 10
DEV_BALANCE_ETHER = 10_000
HARDFORK = "prague"
_POLL_SECONDS = 0.02
_START_ATTEMPTS = 3

_running: weakref.WeakSet[AnvilProcess] = weakref.WeakSet()


def find_anvil(project_root: Path | None = None) -> Path:
    """The anvil binary installed by ``npm ci`` (``@foundry-rs/anvil-<os>-<arch>``)."""
    root = project_root or find_project_root()
    candidates = sorted((root / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    if not candidates:
        raise ToolMissing(
            f"anvil not found under {root / 'node_modules' / '@foundry-rs'}: run `npm ci` in {root}"
        )
    return candidates[0]


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on `host`:`port` right now (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As anvil's own listener does, so a port we just stopped anvil on counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@lru_cache(maxsize=4)
def dev_accounts(
    count: int = DEV_ACCOUNT_COUNT, mnemonic: str = DEV_MNEMONIC
) -> tuple[LocalAccount, ...]:
    """The accounts anvil funds at start, derived from `mnemonic` (BIP-44 ``m/44'/60'/0'/0/i``)."""
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
        for index in range(count)
    )


class AnvilProcess:
    """One anvil process; a context manager that starts on entry and stops on exit."""

    def __init__(
        self,
        *,
        project_root: Path | None = None,
        binary: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        chain_id: int = LOCAL_CHAIN_ID,
        state_path: Path | None = None,
        mnemonic: str = DEV_MNEMONIC,
        accounts: int = DEV_ACCOUNT_COUNT,
        balance_ether: int = DEV_BALANCE_ETHER,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 15.0,
    ) -> None:
        self.binary = binary or find_anvil(project_root)
        self.host = host
        self.chain_id = chain_id
        self.state_path = state_path
        self.mnemonic = mnemonic
        self.accounts = accounts
        self.balance_ether = balance_ether
        self.extra_args = extra_args
        self.startup_timeout = startup_timeout
        self._fixed_port = port
        self._port: int | None = port
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def port(self) -> int:
        """The port anvil listens on (known once started, or when given)."""
        if self._port is None:
            raise DevnetError("anvil has not been started: call start() first")
        return self._port

    @property
    def rpc_url(self) -> str:
        """``http://host:port`` of the running node."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._process.pid if self._process else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self, port: int) -> list[str]:
        """The anvil argv for `port`."""
        argv = [
            str(self.binary),
            "--hardfork",
            HARDFORK,
            "--chain-id",
            str(self.chain_id),
            "--host",
            self.host,
            "--port",
            str(port),
            "--mnemonic",
            self.mnemonic,
            "--accounts",
            str(self.accounts),
            "--balance",
            str(self.balance_ether),
            "--silent",
        ]
        if self.state_path is not None:
            argv += ["--state", str(self.state_path)]
        return [*argv, *self.extra_args]

    def start(self) -> Self:
        """Start anvil and wait until it answers ``eth_chainId``; idempotent while running."""
        if self.is_running:
            return self
        if self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._fixed_port is not None else _START_ATTEMPTS
        last_error: DevnetError | None = None
        for _ in range(attempts):
            port = self._fixed_port or free_port(self.host)
            try:
                self._spawn(port)
            except DevnetError as exc:
                # Another process may have taken the port between free_port() and anvil's bind.
                last_error = exc
                continue
            _running.add(self)
            return self
        assert last_error is not None
        raise last_error

    def _spawn(self, port: int) -> None:
        # anvil would fail to bind and exit, but only after another node on the port had
        # answered our readiness probe: refuse a taken port up front.
        if not port_is_free(self.host, port):
            raise DevnetError(
                f"port {port} on {self.host} is already in use: stop the node there or pick "
                "another port"
            )
        stderr = tempfile.TemporaryFile()  # closed in stop() or on failure
        try:
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        except OSError as exc:
            stderr.close()
            raise ToolMissing(f"cannot run {self.binary} ({exc}): run `npm ci`") from exc
        self._process, self._stderr, self._port = process, stderr, port
        try:
            self._wait_ready()
        except DevnetError:
            self.stop()
            self._port = self._fixed_port
            raise

    def _wait_ready(self) -> None:
        w3 = self.web3(timeout=2.0)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise DevnetError(f"anvil exited during start-up: {self._read_stderr()}")
            if w3.is_connected():
                chain_id = w3.eth.chain_id
                if chain_id != self.chain_id:
                    raise DevnetError(
                        f"{self.rpc_url} answers with chain id {chain_id}, not {self.chain_id}: "
                        "another node holds the port"
                    )
                return
            time.sleep(_POLL_SECONDS)  # anvil --silent prints nothing to wait on
        raise DevnetError(
            f"anvil did not answer on {self.rpc_url} within {self.startup_timeout} s: "
            f"{self._read_stderr()}"
        )

    def web3(self, timeout: float = 30.0) -> Web3:
        """A `Web3` client for this node (no automatic retries: errors surface at once)."""
        provider = Web3.HTTPProvider(
            self.rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        return Web3(provider)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (anvil dumps ``state_path`` then exits); SIGKILL after `timeout` seconds."""
        process, self._process = self._process, None
        _running.discard(self)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _read_stderr(self) -> str:
        if self._stderr is None:
            return "(no output)"
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        return text[-2000:] or "(no output)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid} {self.rpc_url}" if self.is_running else "stopped"
        return f"<AnvilProcess {state}>"


@atexit.register
def _stop_all() -> None:
    # A crashed test session must not leave anvil processes behind.
    for process in list(_running):
        process.stop(timeout=2.0)
