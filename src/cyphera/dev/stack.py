"""The embedded infrastructure of ``cyphera dev``: PostgreSQL, anvil, the framework, demo data.

Everything lives under ``.cyphera/`` in the checkout and survives restarts: the database cluster,
anvil's state dump and the deploy record. A second start reuses all of it; if the chain state was
lost (anvil killed before it could dump), the framework is redeployed — from the same deployer at
the same nonces, so at the same addresses the database already refers to.

One exception: as root, PostgreSQL runs as the ``postgres`` user, which cannot enter a checkout in
a private folder (``/root`` is 0700; so is a ``mktemp -d`` folder). Rather than loosen the user's
own folders, the cluster then lives in ``/var/lib/cyphera/dev/<hash of the checkout's path>/``
and ``.cyphera/postgres`` is a link to it; `forget` (``make clean``) removes both.

While ``cyphera dev`` runs, ``.cyphera/dev.json`` records where its services listen, so the CLI
in another terminal reaches the database that is actually running, whatever its ports.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from cyphera.chain.devnet import dev_accounts
from cyphera.chain.devnet.session import DEPLOYMENT_FILE, Devnet, start_devnet
from cyphera.config import DEV_ANVIL_PORT, DEV_DATABASE_PORT, project_root
from cyphera.db.cluster import LocalCluster, reachable_by_server
from cyphera.db.migrate import upgrade
from cyphera.dev.record import record_path

log = logging.getLogger("cyphera.dev")

DATABASE_NAME = "cyphera"
RELAYER_INDEX = 1
MERCHANT_PAYOUT_INDEX = 2
# Where the cluster goes when the server's user cannot reach the checkout (see the module doc).
SERVER_STATE_ROOT = Path("/var/lib/cyphera/dev")


@dataclass
class DevPaths:
    home: Path

    @property
    def postgres(self) -> Path:
        return self.home / "postgres"

    @property
    def chain(self) -> Path:
        return self.home / "chain"

    @property
    def deployment(self) -> Path:
        return self.chain / DEPLOYMENT_FILE

    @property
    def record(self) -> Path:
        return record_path(self.home)

    @property
    def server_state(self) -> Path:
        """This checkout's own folder under `SERVER_STATE_ROOT`, used when it must be."""
        digest = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:16]
        return SERVER_STATE_ROOT / digest


def database_dir(paths: DevPaths) -> Path:
    """The cluster's data folder: ``.cyphera/postgres``, or where that link points.

    A cluster already in place is kept where it is; a new one goes in the checkout when the
    server's user can reach it there, else in `DevPaths.server_state`.
    """
    if paths.postgres.is_symlink() or paths.postgres.is_dir():
        return paths.postgres.resolve()
    if reachable_by_server(paths.home):
        return paths.postgres
    outside = paths.server_state
    for folder in (SERVER_STATE_ROOT.parent, SERVER_STATE_ROOT, outside):
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)
    (outside / "checkout").write_text(f"{paths.home.resolve()}\n")
    data = outside / "data"
    data.mkdir(exist_ok=True)
    paths.postgres.symlink_to(data, target_is_directory=True)
    return data


def forget(paths: DevPaths) -> None:
    """Remove the dev state: the cluster wherever it lives, the chain, the record (``make clean``).

    The cluster is stopped first if it still runs.
    """
    if paths.postgres.is_symlink() or paths.postgres.is_dir():
        data = paths.postgres.resolve()
        if (data / "PG_VERSION").is_file():
            LocalCluster(data_dir=data, port=0).stop()
        if paths.postgres.is_symlink():
            shutil.rmtree(data.parent, ignore_errors=True)
    shutil.rmtree(paths.home, ignore_errors=True)


def relayer_account() -> LocalAccount:
    """The dev relayer: a well-known anvil key, funded on the local chain only."""
    return dev_accounts()[RELAYER_INDEX]


def merchant_payout_address() -> str:
    return str(dev_accounts()[MERCHANT_PAYOUT_INDEX].address)


def start_database(paths: DevPaths, port: int = DEV_DATABASE_PORT) -> LocalCluster:
    cluster = LocalCluster(data_dir=database_dir(paths), port=port)
    cluster.check_port()  # before anything is made: a taken port is the user's to resolve
    if not cluster.is_initialised:
        log.info("creating the PostgreSQL cluster in %s", cluster.data_dir)
    cluster.init()
    cluster.start()
    cluster.ensure_database(DATABASE_NAME)
    upgrade(cluster.url(DATABASE_NAME, driver="psycopg"))
    return cluster


def start_chain(paths: DevPaths, port: int = DEV_ANVIL_PORT) -> Devnet:
    """anvil with persisted state, and the framework deployed on it (reused when present)."""
    paths.chain.mkdir(parents=True, exist_ok=True)
    return start_devnet(project_root=project_root(), state_dir=paths.chain, port=port)
