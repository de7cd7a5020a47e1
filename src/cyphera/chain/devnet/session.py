"""A running local chain with the framework deployed: what tests and ``cyphera dev`` work with.

`start_devnet` builds the artifacts if needed, starts anvil, reuses a persisted deployment when
its code is still on the chain (else deploys afresh), and returns a `Devnet` bundling the client,
the deploy record, the registry and helpers bound to this chain.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from cyphera.chain.artifacts import (
    ARTIFACTS_DIR_ENV,
    CompiledContracts,
    FrameworkArtifacts,
    artifacts_dir,
    ensure_built,
    find_project_root,
    load_contracts,
    load_framework_artifacts,
)
from cyphera.chain.devnet import helpers
from cyphera.chain.devnet.anvil import AnvilProcess, dev_accounts
from cyphera.chain.devnet.deploy import deploy_framework, verify_deployment
from cyphera.chain.errors import DeploymentError
from cyphera.chain.local import LOCAL_NETWORK_KEY, LocalDeployment
from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry, load_registry, rpc_env_var

STATE_FILE = "anvil-state.json"
DEPLOYMENT_FILE = "deployment.json"
DEPLOYER_INDEX = 0
RELAYER_INDEX = 1
_NEW_ACCOUNT_ETHER = 100


@dataclass
class Devnet:
    """A local chain with the Delegation Framework and test USDC/USDT deployed.

    ``accounts`` are anvil's funded dev accounts; ``deployer`` (index 0) deployed the contracts and
    owns the DelegationManager; ``relayer`` (index 1) is the account the platform's signer uses to
    send redemptions. Helpers act on this chain; see `cyphera.chain.devnet.helpers` for details.
    """

    anvil: AnvilProcess
    w3: Web3
    deployment: LocalDeployment
    registry: NetworkRegistry
    artifacts: FrameworkArtifacts
    contracts: CompiledContracts
    accounts: tuple[LocalAccount, ...]
    _account_counter: itertools.count[int] = field(
        default_factory=itertools.count, init=False, repr=False
    )

    @property
    def rpc_url(self) -> str:
        return self.anvil.rpc_url

    @property
    def network(self) -> Network:
        """The registry's ``local`` network (this chain)."""
        return self.registry.get(LOCAL_NETWORK_KEY)

    @property
    def deployer(self) -> LocalAccount:
        return self.accounts[DEPLOYER_INDEX]

    @property
    def relayer(self) -> LocalAccount:
        return self.accounts[RELAYER_INDEX]

    def contract(self, name: str, address: str) -> Contract:
        """A web3 contract for framework artifact `name` (or ``TestToken``) at `address`."""
        abi = self.contracts.abi(name) if name in self.contracts.abis else self.artifacts.abi(name)
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    def delegation_manager(self) -> Contract:
        return self.contract("DelegationManager", self.deployment.framework.delegation_manager)

    def token(self, symbol: str) -> Contract:
        """The test token `symbol` (``"USDC"`` or ``"USDT"``) as a web3 contract."""
        return self.contract("TestToken", self.network.token(symbol).address)

    def fund_token(self, symbol: str, to: str, amount: int) -> TxReceipt:
        """Mint `amount` base units (6 decimals) of `symbol` to `to`."""
        return helpers.fund_token(
            self.w3, self.network.token(symbol), to, amount, sender=self.deployer
        )

    def token_balance(self, symbol: str, owner: str) -> int:
        return helpers.token_balance(self.w3, self.network.token(symbol), owner)

    def new_account(self, ether: int = _NEW_ACCOUNT_ETHER) -> LocalAccount:
        """A fresh account holding `ether` ETH; keys are deterministic per session, never reused."""
        index = next(self._account_counter)
        account: LocalAccount = Account.from_key(keccak(text=f"cyphera-devnet-account-{index}"))
        helpers.set_balance(self.w3, account.address, ether * 10**18)
        return account

    def upgrade_to_7702(
        self, account: LocalAccount, *, sponsor: LocalAccount | None = None
    ) -> TxReceipt:
        """Make `account` an EIP7702StatelessDeleGator (sponsored by the relayer by default)."""
        impl = self.deployment.framework.eip7702_stateless_delegator_impl
        return helpers.upgrade_to_7702(self.w3, account, impl, sponsor or self.relayer)

    def time_travel(self, seconds: int) -> int:
        return helpers.time_travel(self.w3, seconds)

    def set_next_block_timestamp(self, timestamp: int) -> int:
        return helpers.set_next_block_timestamp(self.w3, timestamp)

    def latest_timestamp(self) -> int:
        return helpers.latest_timestamp(self.w3)

    def mine(self, blocks: int = 1) -> int:
        return helpers.mine(self.w3, blocks)

    def snapshot(self) -> str:
        return helpers.snapshot(self.w3)

    def revert(self, snapshot_id: str) -> None:
        helpers.revert(self.w3, snapshot_id)

    def close(self) -> None:
        """Stop anvil (dumping its state when persisted)."""
        self.anvil.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def start_devnet(
    *,
    project_root: Path | None = None,
    state_dir: Path | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    anvil_args: tuple[str, ...] = (),
) -> Devnet:
    """Start anvil and make sure the framework is deployed on it.

    With `state_dir`, anvil persists its state to ``state_dir/anvil-state.json`` and the deploy
    record goes to ``state_dir/deployment.json``; a later start reuses both when the recorded code
    is still there. `port` defaults to a free one. `env` (default ``os.environ``) supplies public
    RPC URLs and ``CYPHERA_ARTIFACTS_DIR``; ``CYPHERA_RPC_LOCAL`` is set to this node.
    `anvil_args` are passed to anvil as they are (e.g. ``("--timestamp", "…")``).
    """
    root = project_root or find_project_root()
    environ = dict(os.environ if env is None else env)
    directory = artifacts_dir(root, environ)
    if ARTIFACTS_DIR_ENV not in environ:
        ensure_built(root, out_dir=directory)
    artifacts = load_framework_artifacts(directory)
    contracts = load_contracts(directory)
    anvil = AnvilProcess(
        project_root=root,
        port=port,
        state_path=state_dir / STATE_FILE if state_dir else None,
        extra_args=anvil_args,
    ).start()
    try:
        w3 = anvil.web3()
        accounts = dev_accounts()
        record_path = state_dir / DEPLOYMENT_FILE if state_dir else None
        deployment = _reuse_deployment(w3, record_path)
        if deployment is None:
            deployment = deploy_framework(
                w3, accounts[DEPLOYER_INDEX], artifacts=artifacts, contracts=contracts
            )
            if record_path is not None:
                deployment.save(record_path)
        environ[rpc_env_var(LOCAL_NETWORK_KEY)] = anvil.rpc_url
        registry = load_registry(deployment, environ, artifacts=artifacts)
    except BaseException:
        anvil.stop()
        raise
    return Devnet(
        anvil=anvil,
        w3=w3,
        deployment=deployment,
        registry=registry,
        artifacts=artifacts,
        contracts=contracts,
        accounts=accounts,
    )


def _reuse_deployment(w3: Web3, record_path: Path | None) -> LocalDeployment | None:
    if record_path is None or not record_path.exists():
        return None
    try:
        deployment = LocalDeployment.load(record_path)
        verify_deployment(w3, deployment)
    except DeploymentError:
        # anvil was killed before dumping its state, or the record is stale: deploy afresh.
        return None
    return deployment
