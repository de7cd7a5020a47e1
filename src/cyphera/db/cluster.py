"""A private PostgreSQL cluster from the machine's server binaries (initdb / pg_ctl).

``cyphera dev`` keeps one in ``.cyphera/postgres`` across restarts; the test suite makes a throw-away
one. PostgreSQL refuses to run as root, so when we are root the server runs as the ``postgres``
system user (present wherever the server package is installed) and owns its data folder. That
user must be able to reach the folder: `reachable_by_server` tells whether it can, so a caller in a
home directory only root may enter (``/root`` is 0700) can keep the data somewhere else.

Every failure is a `ClusterError` whose message is one line: what is wrong and what fixes it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

_VERSIONED_DIRS = "/usr/lib/postgresql/{version}/bin"
_KNOWN_VERSIONS = ("18", "17", "16", "15", "14", "13")
_OTHER_DIRS = ("/usr/local/pgsql/bin",)
SERVER_USER = "postgres"
# What a fresh cluster needs before its first migration; less than this and initdb fails halfway.
MIN_FREE_BYTES = 200 * 1024 * 1024


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says what to do."""


def find_binary(name: str, *, version: str | None = None) -> str:
    """Path of a PostgreSQL server binary, or a `ClusterError` saying what to install.

    With `version` (a major version such as ``"15"``), only that version's binary will do: a data
    folder can only be served by the major version that created it.
    """
    candidates: list[Path] = []
    if version is None:
        found = shutil.which(name)
        if found:
            return found
        candidates = [Path(_VERSIONED_DIRS.format(version=v)) / name for v in _KNOWN_VERSIONS]
        candidates += [Path(folder) / name for folder in _OTHER_DIRS]
    else:
        found = shutil.which(name)
        if found and binary_version(found) == version:
            return found
        candidates = [Path(_VERSIONED_DIRS.format(version=version)) / name]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    if version is not None:
        raise ClusterError(
            f"this data folder was made by PostgreSQL {version}, whose {name!r} is not installed: "
            f"install it (Debian/Ubuntu: `apt-get install postgresql-{version}`), or start afresh "
            "with `make clean` (this deletes the local dev data)"
        )
    raise ClusterError(
        f"PostgreSQL server binary {name!r} not found: install the server "
        "(Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@15`) "
        "or put its bin/ folder on PATH"
    )


def binary_version(path: str) -> str | None:
    """The major version a PostgreSQL binary reports (``initdb (PostgreSQL) 15.18`` → ``"15"``)."""
    result = subprocess.run(  # noqa: S603 - a binary we found ourselves, fixed argument
        [path, "--version"], capture_output=True, text=True, check=False
    )
    match = re.search(r"\(PostgreSQL\) (\d+)", result.stdout)
    return match.group(1) if match else None


def runs_as_server_user() -> bool:
    """Whether the server runs as `SERVER_USER` rather than as us: PostgreSQL refuses root."""
    return os.geteuid() == 0


def reachable_by_server(path: Path) -> bool:
    """Whether the user the server runs as can enter every folder on the way to `path`.

    Read from the permission bits (ACLs are not consulted, so the answer errs on "no"). Only
    matters when we are root: otherwise the server runs as us.
    """
    if not runs_as_server_user():
        return True
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        return False
    groups = {entry.pw_gid, *os.getgrouplist(SERVER_USER, entry.pw_gid)}
    folder = path.resolve()
    for ancestor in [folder, *folder.parents]:
        if not ancestor.exists():
            continue
        info = ancestor.stat()
        if info.st_uid == entry.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


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
        if not runs_as_server_user():
            return []
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise ClusterError(
                f"running as root and there is no `{SERVER_USER}` system user to run the server: "
                f"create one (`useradd --system {SERVER_USER}`) or run as a normal user"
            ) from exc
        return ["runuser", "-u", SERVER_USER, "--"]

    def _chown(self, path: Path) -> None:
        if runs_as_server_user():
            entry = pwd.getpwnam(SERVER_USER)
            for root, dirs, files in os.walk(path):
                os.chown(root, entry.pw_uid, entry.pw_gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    @property
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    @property
    def version(self) -> str | None:
        """The major version that made this cluster, once it exists."""
        if not self.is_initialised:
            return None
        return (self.data_dir / "PG_VERSION").read_text().strip()

    def _binary(self, name: str) -> str:
        return find_binary(name, version=self.version)

    def init(self) -> None:
        """Create the cluster (idempotent)."""
        if self.is_initialised:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _require_space(self.data_dir)
        if not reachable_by_server(self.data_dir):
            raise ClusterError(
                f"the `{SERVER_USER}` user that runs PostgreSQL cannot enter {self.data_dir} "
                "(a parent folder is private, like /root): keep the data in a folder it can "
                "reach, or run as a normal user"
            )
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
                # TCP only: a socket path inside a deep checkout would pass the 107-byte limit.
                "unix_socket_directories = ''\n"
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

    def serves_this_cluster(self) -> bool | None:
        """Whether what answers on our port is this cluster (None: nothing answers)."""
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=1) as conn:
                row = conn.execute("SHOW data_directory").fetchone()
        except psycopg.OperationalError:
            return None
        except psycopg.Error:  # a server that is not ours refused us (no such role, …)
            return False
        return row is not None and Path(str(row[0])).resolve() == self.data_dir.resolve()

    def check_port(self) -> bool:
        """True if this cluster already serves on its port, False if the port is free; else a
        `ClusterError` naming the port and how to choose another."""
        serving = self.serves_this_cluster()
        if serving:
            return True
        if serving is False or not _port_is_free(self.port):
            raise ClusterError(
                f"port {self.port} on 127.0.0.1 is taken by another program, so PostgreSQL "
                "cannot listen there: stop that program, or pick another port "
                f"(e.g. `CYPHERA_DEV__DATABASE_PORT={self.port + 10} make dev`)"
            )
        return False

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the server if it is not already answering."""
        if self.check_port():
            return
        _require_space(self.data_dir)
        log = self.data_dir / "server.log"
        _run(
            [
                *self._run_as,
                self._binary("pg_ctl"),
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
            hint=str(log),
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
            [*self._run_as, self._binary("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"],
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


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _require_space(folder: Path) -> None:
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise ClusterError(_disk_full(folder, free))


def _disk_full(folder: Path, free: int | None = None) -> str:
    left = f" (only {free // (1024 * 1024)} MB left)" if free is not None else ""
    return (
        f"the disk holding {folder} is full{left}: free some space (`df -h {folder}` shows it, "
        "`make clean` drops the local dev data) and retry"
    )


def _run(argv: list[str], what: str, hint: str = "") -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        if "No space left on device" in detail:
            raise ClusterError(_disk_full(Path(argv[argv.index("-D") + 1])))
        # One line: the server's last complaint is the useful part of a multi-line report.
        last = detail.splitlines()[-1] if detail else "no output"
        raise ClusterError(f"{what} failed: {last}" + (f" (see {hint})" if hint else ""))
