"""The network registry: public networks from MetaMask's published deployment, plus ``local``."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
from eth_utils.address import is_checksum_address

from cyphera.chain.artifacts import FrameworkArtifacts
from cyphera.chain.errors import ArtifactsMissing, NetworkConfigInvalid, NetworkNotFound
from cyphera.chain.local import LocalDeployment
from cyphera.chain.models import Token
from cyphera.chain.networks import PUBLIC_NETWORK_KEYS, load_registry, rpc_env_var
from cyphera.delegation.addresses import FrameworkAddresses

# design/DELEGATION.md, "Production addresses" (v1.3.0, the same on every listed chain).
DELEGATION_MD = {
    "DelegationManager": "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3",
    "EntryPoint": "0x0000000071727De22E5E9d8BAf0edAc6f37da032",
    "SimpleFactory": "0x69Aa2f9fe1572F1B640E1bbc512f5c3a734fc77c",
    "HybridDeleGatorImpl": "0x48dBe696A4D990079e039489bA2053B36E8FFEC4",
    "EIP7702StatelessDeleGatorImpl": "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B",
    "ERC20PeriodTransferEnforcer": "0x474e3Ae7E169e940607cC624Da8A15Eb120139aB",
    "ValueLteEnforcer": "0x92Bf12322527cAA612fd31a0e810472BBB106A8F",
    "NonceEnforcer": "0xDE4f2FAC4B3D87A1d9953Ca5FC09FCa7F366254f",
    "TimestampEnforcer": "0x1046bb45C8d673d4ea75321280DB34899413c069",
    "RedeemerEnforcer": "0xE144b0b2618071B4E56f746313528a669c7E65c5",
    "AllowedCalldataEnforcer": "0xc2b0d624c1c4319760C96503BA27C347F3260f55",
    "LimitedCallsEnforcer": "0x04658B29F6b82ed55274221a06Fc97D318E25416",
}
EXPECTED_CHAIN_IDS = {
    "ethereum": 1,
    "polygon": 137,
    "arbitrum": 42161,
    "base": 8453,
    "optimism": 10,
    "sepolia": 11155111,
    "base-sepolia": 84532,
    "arbitrum-sepolia": 421614,
    "polygon-amoy": 80002,
}
# Circle's native USDC and Tether's USDT (see the comment in cyphera/chain/networks.py).
EXPECTED_TOKENS = {
    "ethereum": {
        "USDC": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        "USDT": "0xdAC17F958D2ee523a2206206994597C13D831ec7",
    },
    "polygon": {
        "USDC": "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
        "USDT": "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",
    },
    "arbitrum": {
        "USDC": "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
        "USDT": "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
    },
    "base": {"USDC": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"},
    "optimism": {
        "USDC": "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
        "USDT": "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58",
    },
    "sepolia": {"USDC": "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"},
    "base-sepolia": {"USDC": "0x036CbD53842c5426634e7929541eC2318f3dCF7e"},
    "arbitrum-sepolia": {"USDC": "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d"},
    "polygon-amoy": {"USDC": "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582"},
}
LOCAL = LocalDeployment(
    chain_id=31337,
    framework=FrameworkAddresses(
        delegation_manager="0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        entry_point="0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
        simple_factory="0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
        hybrid_delegator_impl="0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
        eip7702_stateless_delegator_impl="0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
        enforcers=MappingProxyType(
            {"ERC20PeriodTransferEnforcer": "0x0B306BF915C4d645ff596e518fAf3F9669b97016"}
        ),
    ),
    tokens=MappingProxyType(
        {"USDC": Token("USDC", "0x998abeb3E57409262aE5b751f60747921B33613E", 6)}
    ),
    deployer="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    block_number=41,
)


def test_public_networks_have_the_expected_keys_and_chain_ids(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    registry = load_registry(None, {}, artifacts=framework_artifacts)

    assert {n.key: n.chain_id for n in registry.all()} == EXPECTED_CHAIN_IDS
    assert PUBLIC_NETWORK_KEYS == tuple(EXPECTED_CHAIN_IDS)
    assert "local" not in registry
    assert len(set(registry.all())) == len(registry)  # hashable, e.g. as dict keys
    assert [n.is_testnet for n in registry.all()] == sorted(n.is_testnet for n in registry.all())


def test_every_address_is_checksummed_and_every_stablecoin_has_6_decimals(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    registry = load_registry(LOCAL, {}, artifacts=framework_artifacts)

    for network in registry.all():
        fw = network.framework
        core = (
            fw.delegation_manager,
            fw.entry_point,
            fw.simple_factory,
            fw.hybrid_delegator_impl,
            fw.eip7702_stateless_delegator_impl,
        )
        for address in (*core, *fw.enforcers.values()):
            assert is_checksum_address(address), (network.key, address)
        for symbol, token in network.tokens.items():
            assert token.symbol == symbol
            assert is_checksum_address(token.address), (network.key, symbol)
            assert token.decimals == 6


def test_stablecoin_addresses_are_the_verified_ones(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    registry = load_registry(None, {}, artifacts=framework_artifacts)

    actual = {n.key: {s: t.address for s, t in n.tokens.items()} for n in registry.all()}
    assert actual == EXPECTED_TOKENS


def test_production_framework_addresses_equal_delegation_md_on_every_chain(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    registry = load_registry(None, {}, artifacts=framework_artifacts)
    all_enforcers = framework_artifacts.enforcers

    for network in registry.all():
        fw = network.framework
        assert fw.delegation_manager == DELEGATION_MD["DelegationManager"]
        assert fw.entry_point == DELEGATION_MD["EntryPoint"]
        assert fw.simple_factory == DELEGATION_MD["SimpleFactory"]
        assert fw.hybrid_delegator_impl == DELEGATION_MD["HybridDeleGatorImpl"]
        assert fw.eip7702_stateless_delegator_impl == DELEGATION_MD["EIP7702StatelessDeleGatorImpl"]
        for name, address in DELEGATION_MD.items():
            if name.endswith("Enforcer"):
                assert fw.enforcer(name) == address, (network.key, name)
        assert set(fw.enforcers) == set(all_enforcers)


def test_confirmation_depths_and_block_times_are_set_per_network(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    registry = load_registry(LOCAL, {}, artifacts=framework_artifacts)

    for network in registry.all():
        assert network.confirmations >= 1
        assert network.block_time_seconds > 0
    assert registry.get("ethereum").confirmations == 12
    assert registry.get("local").confirmations == 1
    # On L2s the sequencer orders blocks: a shallow depth, about ten seconds of blocks.
    for key in ("arbitrum", "base", "optimism"):
        assert registry.get(key).confirmation_seconds() <= 15


def test_rpc_urls_come_from_the_environment_in_failover_order(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    env = {rpc_env_var("base-sepolia"): " https://a.example/rpc , wss://b.example ,"}

    registry = load_registry(None, env, artifacts=framework_artifacts)

    assert rpc_env_var("base-sepolia") == "CYPHERA_RPC_BASE_SEPOLIA"
    assert registry.get("base-sepolia").rpc_urls == ("https://a.example/rpc", "wss://b.example")
    assert registry.get("base").rpc_urls == ()


def test_a_malformed_rpc_url_is_refused_naming_the_variable(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    with pytest.raises(NetworkConfigInvalid, match=r"CYPHERA_RPC_POLYGON holds 'polygon-rpc\.com'"):
        load_registry(
            None, {"CYPHERA_RPC_POLYGON": "polygon-rpc.com"}, artifacts=framework_artifacts
        )


def test_lookup_by_key_and_chain_id(framework_artifacts: FrameworkArtifacts) -> None:
    registry = load_registry(
        LOCAL, {"CYPHERA_RPC_LOCAL": "http://127.0.0.1:8545"}, artifacts=framework_artifacts
    )

    assert registry.by_chain_id(8453) is registry.get("base")
    assert registry.get("base").token("USDC").decimals == 6
    with pytest.raises(NetworkNotFound, match="unknown network 'mainnet'; known: ethereum"):
        registry.get("mainnet")
    with pytest.raises(NetworkNotFound, match="no network with chain id 56"):
        registry.by_chain_id(56)
    with pytest.raises(NetworkNotFound, match="Base has no USDT token configured"):
        registry.get("base").token("USDT")


def test_local_network_comes_from_the_deploy_record(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    registry = load_registry(
        LOCAL, {"CYPHERA_RPC_LOCAL": "http://127.0.0.1:8545"}, artifacts=framework_artifacts
    )

    local = registry.get("local")
    assert registry.all()[-1] is local
    assert registry.by_chain_id(31337) is local
    assert local.is_local
    assert local.framework == LOCAL.framework
    assert local.token("USDC").address == "0x998abeb3E57409262aE5b751f60747921B33613E"
    assert local.rpc_urls == ("http://127.0.0.1:8545",)
    assert local.explorer_url is None
    assert local.explorer_tx_url("0xabc") is None


def test_explorer_links(framework_artifacts: FrameworkArtifacts) -> None:
    base = load_registry(None, {}, artifacts=framework_artifacts).get("base")

    assert base.explorer_tx_url("0xabc") == "https://basescan.org/tx/0xabc"
    assert base.explorer_address_url("0xdef") == "https://basescan.org/address/0xdef"
    assert base.token_by_address(EXPECTED_TOKENS["base"]["USDC"].lower()) == base.token("USDC")
    assert base.token_by_address("0x0000000000000000000000000000000000000001") is None


def test_registry_reads_the_artifacts_named_by_the_environment(
    artifacts_dir_built: Path, tmp_path: Path
) -> None:
    registry = load_registry(None, {"CYPHERA_ARTIFACTS_DIR": str(artifacts_dir_built)})

    assert registry.get("polygon").framework.entry_point == DELEGATION_MD["EntryPoint"]
    with pytest.raises(ArtifactsMissing, match=r"framework-artifacts\.json not found: build them"):
        load_registry(None, {"CYPHERA_ARTIFACTS_DIR": str(tmp_path)})
