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

from cyphera.chain.artifacts import ensure_built
from cyphera.chain.devnet import AnvilProcess, deploy_framework, dev_accounts, verify_deployment
from cyphera.chain.errors import ChainError
from cyphera.chain.local import LocalDeployment
from cyphera.config import DEV_ANVIL_PORT, DEV_DATABASE_PORT, project_root
from cyphera.db.cluster import LocalCluster
from cyphera.db.migrate import upgrade

log = logging.getLogger("cyphera.dev")

DATABASE_NAME = "cyphera"
DEPLOYER_INDEX = 0
RELAYER_INDEX = 1
MERCHANT_PAYOUT_INDEX = 2


@dataclass
class DevPaths:
    home: Path

    @property
    def postgres(self) -> Path:
        return self.home / "postgres"

    @property
    def anvil_state(self) -> Path:
        return self.home / "anvil" / "state.json"

    @property
    def deployment(self) -> Path:
        return self.home / "local-deployment.json"


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


def start_chain(paths: DevPaths, port: int = DEV_ANVIL_PORT) -> tuple[AnvilProcess, LocalDeployment]:
    """anvil with persisted state, and the framework deployed on it (reused when present)."""
    ensure_built(project_root())
    paths.anvil_state.parent.mkdir(parents=True, exist_ok=True)
    anvil = AnvilProcess(port=port, state_path=paths.anvil_state).start()
    w3 = anvil.web3()
    if paths.deployment.is_file():
        deployment = LocalDeployment.load(paths.deployment)
        try:
            verify_deployment(w3, deployment)
            return anvil, deployment
        except ChainError:
            log.warning("the local chain lost its contracts; deploying them again")
    deployment = deploy_framework(w3, dev_accounts()[DEPLOYER_INDEX])
    deployment.save(paths.deployment)
    return anvil, deployment
