"""Chains: the network registry, contract artifacts and the local deploy record.

- `cyphera.chain.networks` — `NetworkRegistry` of every supported chain (`load_registry`).
- `cyphera.chain.artifacts` — ABIs and creation code exported from MetaMask's npm packages.
- `cyphera.chain.local` — `LocalDeployment`, where the framework lives on the local chain.
- `cyphera.chain.devnet` — anvil, the local deploy and test helpers (dev/test only; not
  imported here so production code never loads it).
"""

from cyphera.chain.artifacts import (
    FRAMEWORK_VERSION,
    CompiledContracts,
    FrameworkArtifacts,
    ensure_built,
    load_contracts,
    load_framework_artifacts,
)
from cyphera.chain.errors import (
    ArtifactsMissing,
    ChainError,
    DeploymentError,
    DevnetError,
    NetworkConfigInvalid,
    NetworkNotFound,
    ToolMissing,
)
from cyphera.chain.local import LOCAL_CHAIN_ID, LocalDeployment
from cyphera.chain.models import Network, Token
from cyphera.chain.networks import NetworkRegistry, load_registry

__all__ = [
    "FRAMEWORK_VERSION",
    "LOCAL_CHAIN_ID",
    "ArtifactsMissing",
    "ChainError",
    "CompiledContracts",
    "DeploymentError",
    "DevnetError",
    "FrameworkArtifacts",
    "LocalDeployment",
    "Network",
    "NetworkConfigInvalid",
    "NetworkNotFound",
    "NetworkRegistry",
    "Token",
    "ToolMissing",
    "ensure_built",
    "load_contracts",
    "load_framework_artifacts",
    "load_registry",
]
