"""A private PostgreSQL cluster from the machine's server binaries (initdb / pg_ctl).

``cyphera dev`` keeps one in ``.cyphera/postgres`` across restarts; the test suite makes a throw-away
one. PostgreSQL refuses to run as root, so when we are root the server runs as the ``postgres``
system user (present wherever the server package is installed) and owns its data folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

_SEARCH_DIRS = (
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
    "/usr/local/pgsql/bin",
)


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says what to do."""


def find_binary(name: str) -> str:
    """Path of a PostgreSQL server binary, or a `ClusterError` saying what to install."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SEARCH_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    raise ClusterError(
        f"PostgreSQL server binary {name!r} not found. Install the server "
        "(Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@15`) "
        "or put its bin/ folder on PATH."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalCluster:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port` with trust auth."""

    data_dir: Path
    port: int
    user: str = "cyphera"

    @property
    def _run_as(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ClusterError(
                "running as root and there is no `postgres` system user to run the server: "
                "create one (`useradd --system postgres`) or run as a normal user"
            ) from exc
        return ["runuser", "-u", "postgres", "--"]

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for root, dirs, files in os.walk(path):
                os.chown(root, entry.pw_uid, entry.pw_gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    @property
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def init(self) -> None:
        """Create the cluster (idempotent)."""
        if self.is_initialised:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        _run(
            [
                *self._run_as,
                find_binary("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            "initdb",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            # A development and test server: durability traded for speed, nothing else listening.
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.data_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\nshared_buffers = 128MB\n"
                "timezone = 'UTC'\n"
            )

    @property
    def is_running(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the server if it is not already answering."""
        if self.is_running:
            return
        log = self.data_dir / "server.log"
        _run(
            [
                *self._run_as,
                find_binary("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-o",
                f"-p {self.port}",
                "-l",
                str(log),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            "pg_ctl start",
            hint=f"see {log}",
        )
        deadline = time.monotonic() + timeout
        while not self.is_running:
            if time.monotonic() > deadline:
                raise ClusterError(f"PostgreSQL did not answer on port {self.port}; see {log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if not self.is_initialised:
            return
        subprocess.run(  # noqa: S603 - fixed argv, our own paths
            [*self._run_as, find_binary("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )

    def url(self, database: str, *, driver: str = "") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.user}@127.0.0.1:{self.port}/{database}"

    def ensure_database(self, name: str, *, template: str | None = None) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists:
                return
            sql = f'CREATE DATABASE "{name}"'
            if template:
                sql += f' TEMPLATE "{template}"'
            conn.execute(sql.encode())

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _run(argv: list[str], what: str, hint: str = "") -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise ClusterError(f"{what} failed: {detail}" + (f" ({hint})" if hint else ""))
