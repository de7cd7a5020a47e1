"""The network registry: every chain the platform can bill on.

Static facts (chain id, block time, confirmation depth, explorer, USDC/USDT) are written here.
Delegation Framework addresses are never written here: public chains take MetaMask's published
v1.3.0 deployment from the exported artifacts (`cyphera.chain.artifacts`), and the local chain
takes whatever the local deploy recorded (`cyphera.chain.local.LocalDeployment`).

RPC endpoints come from the environment, ``CYPHERA_RPC_<KEY>`` (key upper-cased, ``-`` → ``_``),
comma-separated in failover order, e.g. ``CYPHERA_RPC_BASE_SEPOLIA=https://a,https://b``. Public
networks have none by default: operators bring their own endpoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from eth_utils.address import to_checksum_address

from cyphera.chain.artifacts import (
    FRAMEWORK_VERSION,
    FrameworkArtifacts,
    artifacts_dir,
    load_framework_artifacts,
)
from cyphera.chain.errors import NetworkConfigInvalid, NetworkNotFound
from cyphera.chain.local import LOCAL_NETWORK_KEY, LocalDeployment
from cyphera.chain.models import Network, Token

__all__ = [
    "PUBLIC_NETWORK_KEYS",
    "Network",
    "NetworkRegistry",
    "Token",
    "load_registry",
    "rpc_env_var",
]

_RPC_SCHEMES = ("http://", "https://", "ws://", "wss://")


@dataclass(frozen=True, slots=True)
class _PublicNetwork:
    key: str
    name: str
    chain_id: int
    is_testnet: bool
    native_symbol: str
    block_time_seconds: float
    confirmations: int
    explorer_url: str
    tokens: tuple[tuple[str, str], ...]  # (symbol, address); every USDC/USDT here has 6 decimals


# Confirmation depth — what a charge waits for before its invoice counts as paid. A reorg past it
# is still handled (the charge goes back to "submitted" and the period cap bounds any retry), so
# the depth trades payout latency against how often that path runs:
# - Ethereum, 12 blocks (~2.4 min): post-Merge reorgs are one or two blocks (late proposals);
#   12 is the long-standing exchange convention. Full finality (2 epochs, ~13 min) would delay
#   every invoice for a risk the idempotent charge path already covers.
# - Polygon PoS, 64 blocks (~2 min): Polygon has reorged deeply before (157 blocks in Feb 2023);
#   newer milestone finality bounds this, so 64 is conservative without being slow.
# - Arbitrum (0.25 s blocks) and the OP-stack chains Base and Optimism (2 s): blocks are ordered by
#   a single sequencer and only reorg if its batches fail to land on L1, so depth buys little
#   safety; ~10 s of blocks absorbs sequencer hiccups.
# - Testnets carry no value: shallower, so test-mode checkouts settle quickly.
# Token addresses: Circle's and Tether's deployments (checked against Circle's own sample apps and
# public token lists); only native USDC (never bridged USDC.e). Base has no Tether-issued USDT and
# testnets have no official USDT, so none is listed there.
_PUBLIC_NETWORKS: tuple[_PublicNetwork, ...] = (
    _PublicNetwork(
        key="ethereum",
        name="Ethereum",
        chain_id=1,
        is_testnet=False,
        native_symbol="ETH",
        block_time_seconds=12.0,
        confirmations=12,
        explorer_url="https://etherscan.io",
        tokens=(
            ("USDC", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
            ("USDT", "0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        ),
    ),
    _PublicNetwork(
        key="polygon",
        name="Polygon",
        chain_id=137,
        is_testnet=False,
        native_symbol="POL",
        block_time_seconds=2.0,
        confirmations=64,
        explorer_url="https://polygonscan.com",
        tokens=(
            ("USDC", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359"),
            ("USDT", "0xc2132D05D31c914a87C6611C10748AEb04B58e8F"),
        ),
    ),
    _PublicNetwork(
        key="arbitrum",
        name="Arbitrum One",
        chain_id=42161,
        is_testnet=False,
        native_symbol="ETH",
        block_time_seconds=0.25,
        confirmations=40,
        explorer_url="https://arbiscan.io",
        tokens=(
            ("USDC", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"),
            ("USDT", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"),
        ),
    ),
    _PublicNetwork(
        key="base",
        name="Base",
        chain_id=8453,
        is_testnet=False,
        native_symbol="ETH",
        block_time_seconds=2.0,
        confirmations=5,
        explorer_url="https://basescan.org",
        tokens=(("USDC", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),),
    ),
    _PublicNetwork(
        key="optimism",
        name="OP Mainnet",
        chain_id=10,
        is_testnet=False,
        native_symbol="ETH",
        block_time_seconds=2.0,
        confirmations=5,
        explorer_url="https://optimistic.etherscan.io",
        tokens=(
            ("USDC", "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85"),
            ("USDT", "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58"),
        ),
    ),
    _PublicNetwork(
        key="sepolia",
        name="Sepolia",
        chain_id=11155111,
        is_testnet=True,
        native_symbol="ETH",
        block_time_seconds=12.0,
        confirmations=3,
        explorer_url="https://sepolia.etherscan.io",
        tokens=(("USDC", "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"),),
    ),
    _PublicNetwork(
        key="base-sepolia",
        name="Base Sepolia",
        chain_id=84532,
        is_testnet=True,
        native_symbol="ETH",
        block_time_seconds=2.0,
        confirmations=2,
        explorer_url="https://sepolia.basescan.org",
        tokens=(("USDC", "0x036CbD53842c5426634e7929541eC2318f3dCF7e"),),
    ),
    _PublicNetwork(
        key="arbitrum-sepolia",
        name="Arbitrum Sepolia",
        chain_id=421614,
        is_testnet=True,
        native_symbol="ETH",
        block_time_seconds=0.25,
        confirmations=8,
        explorer_url="https://sepolia.arbiscan.io",
        tokens=(("USDC", "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d"),),
    ),
    _PublicNetwork(
        key="polygon-amoy",
        name="Polygon Amoy",
        chain_id=80002,
        is_testnet=True,
        native_symbol="POL",
        block_time_seconds=2.0,
        confirmations=16,
        explorer_url="https://amoy.polygonscan.com",
        tokens=(("USDC", "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582"),),
    ),
)

PUBLIC_NETWORK_KEYS: tuple[str, ...] = tuple(n.key for n in _PUBLIC_NETWORKS)
MAINNET_NETWORK_KEYS: frozenset[str] = frozenset(
    n.key for n in _PUBLIC_NETWORKS if not n.is_testnet
)
"""The public networks that carry real value (live mode's); every other key, ``local`` included,
is a testnet (test mode's)."""
STABLECOIN_DECIMALS = 6


class NetworkRegistry:
    """The networks the platform knows, by key and by chain id, in a stable order."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self._by_key: dict[str, Network] = {}
        self._by_chain_id: dict[int, Network] = {}
        for network in networks:
            if network.key in self._by_key:
                raise NetworkConfigInvalid(f"network key {network.key!r} is listed twice")
            if network.chain_id in self._by_chain_id:
                other = self._by_chain_id[network.chain_id].key
                raise NetworkConfigInvalid(
                    f"networks {other!r} and {network.key!r} share chain id {network.chain_id}"
                )
            self._by_key[network.key] = network
            self._by_chain_id[network.chain_id] = network

    def get(self, key: str) -> Network:
        """The network `key` (``"base"``, ``"local"``, ...); `NetworkNotFound` lists the keys."""
        try:
            return self._by_key[key]
        except KeyError:
            raise NetworkNotFound(
                f"unknown network {key!r}; known: {', '.join(self._by_key)}", param="network"
            ) from None

    def by_chain_id(self, chain_id: int) -> Network:
        """The network with `chain_id`; `NetworkNotFound` if the platform does not support it."""
        try:
            return self._by_chain_id[chain_id]
        except KeyError:
            known = ", ".join(f"{n.key}={n.chain_id}" for n in self._by_key.values())
            raise NetworkNotFound(
                f"no network with chain id {chain_id}; known: {known}", param="chain_id"
            ) from None

    def all(self) -> tuple[Network, ...]:
        """Every network: mainnets, then testnets, then ``local`` when present."""
        return tuple(self._by_key.values())

    def keys(self) -> tuple[str, ...]:
        """Every network key, in `all` order."""
        return tuple(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Network]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


def rpc_env_var(key: str) -> str:
    """The environment variable holding `key`'s RPC URLs: ``base-sepolia`` → ``CYPHERA_RPC_BASE_SEPOLIA``."""
    return "CYPHERA_RPC_" + key.upper().replace("-", "_")


def load_registry(
    local: LocalDeployment | None,
    env: Mapping[str, str],
    *,
    artifacts: FrameworkArtifacts | None = None,
) -> NetworkRegistry:
    """Build the registry: the public networks, plus ``local`` when a deploy record is given.

    `env` supplies ``CYPHERA_RPC_<KEY>`` (and ``CYPHERA_ARTIFACTS_DIR`` when `artifacts` is not
    passed). Public framework addresses come from `artifacts` (default: the exported JSON).
    """
    framework_artifacts = artifacts or load_framework_artifacts(artifacts_dir(env=env))
    networks = [
        Network(
            key=spec.key,
            name=spec.name,
            chain_id=spec.chain_id,
            is_testnet=spec.is_testnet,
            native_symbol=spec.native_symbol,
            block_time_seconds=spec.block_time_seconds,
            confirmations=spec.confirmations,
            rpc_urls=_rpc_urls(env, spec.key),
            explorer_url=spec.explorer_url,
            framework=framework_artifacts.framework_addresses(spec.chain_id, FRAMEWORK_VERSION),
            tokens=MappingProxyType(
                {
                    symbol: Token(symbol, to_checksum_address(address), STABLECOIN_DECIMALS)
                    for symbol, address in spec.tokens
                }
            ),
        )
        for spec in sorted(_PUBLIC_NETWORKS, key=lambda s: s.is_testnet)
    ]
    if local is not None:
        networks.append(local.to_network(rpc_urls=_rpc_urls(env, LOCAL_NETWORK_KEY)))
    return NetworkRegistry(networks)


def _rpc_urls(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    name = rpc_env_var(key)
    urls = tuple(u.strip() for u in env.get(name, "").split(",") if u.strip())
    for url in urls:
        if not url.startswith(_RPC_SCHEMES):
            raise NetworkConfigInvalid(
                f"{name} holds {url!r}, which is not an http(s):// or ws(s):// URL; "
                "give comma-separated RPC URLs",
                param=name,
            )
    return urls
