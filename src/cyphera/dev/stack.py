"""The embedded infrastructure of ``cyphera dev``: PostgreSQL, anvil, the framework, demo data.

Everything lives under ``.cyphera/`` in the checkout and survives restarts: the database cluster,
anvil's state dump and the deploy record. A second start reuses all of it; if the chain state was
lost (anvil killed before it could dump), the framework is redeployed — from the same deployer at
the same nonces, so at the same addresses the database already refers to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from cyphera.chain.devnet import dev_accounts
from cyphera.chain.devnet.session import DEPLOYMENT_FILE, Devnet, start_devnet
from cyphera.config import DEV_ANVIL_PORT, DEV_DATABASE_PORT, project_root
from cyphera.db.cluster import LocalCluster
from cyphera.db.migrate import upgrade

log = logging.getLogger("cyphera.dev")

DATABASE_NAME = "cyphera"
RELAYER_INDEX = 1
MERCHANT_PAYOUT_INDEX = 2


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


def relayer_account() -> LocalAccount:
    """The dev relayer: a well-known anvil key, funded on the local chain only."""
    return dev_accounts()[RELAYER_INDEX]


def merchant_payout_address() -> str:
    return str(dev_accounts()[MERCHANT_PAYOUT_INDEX].address)


def start_database(paths: DevPaths, port: int = DEV_DATABASE_PORT) -> LocalCluster:
    cluster = LocalCluster(data_dir=paths.postgres, port=port)
    if not cluster.is_initialised:
        log.info("creating the PostgreSQL cluster in %s", paths.postgres)
    cluster.init()
    cluster.start()
    cluster.ensure_database(DATABASE_NAME)
    upgrade(cluster.url(DATABASE_NAME, driver="psycopg"))
    return cluster


def start_chain(paths: DevPaths, port: int = DEV_ANVIL_PORT) -> Devnet:
    """anvil with persisted state, and the framework deployed on it (reused when present)."""
    paths.chain.mkdir(parents=True, exist_ok=True)
    return start_devnet(project_root=project_root(), state_dir=paths.chain, port=port)
