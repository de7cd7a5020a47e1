"""The exported framework artifacts and our compiled contracts, and how they get built."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cyphera.chain.artifacts import (
    ARTIFACTS_DIR_ENV,
    CONTRACTS_FILE,
    FRAMEWORK_ARTIFACTS_FILE,
    artifacts_dir,
    ensure_built,
    find_project_root,
    load_contracts,
    load_framework_artifacts,
)
from cyphera.chain.errors import ArtifactsMissing, ToolMissing

ROOT = find_project_root()
CORE = (
    "DelegationManager",
    "EntryPoint",
    "SimpleFactory",
    "ERC1967Proxy",
    "HybridDeleGator",
    "EIP7702StatelessDeleGator",
    "SCL_RIP7212",
)
SUPPORTED_CHAIN_IDS = (1, 10, 137, 8453, 42161, 80002, 84532, 421614, 11155111)


@pytest.fixture
def built(artifacts_dir_built: Path) -> Path:
    return artifacts_dir_built


def test_framework_export_holds_every_contract_we_deploy(built: Path) -> None:
    artifacts = load_framework_artifacts(built)

    assert set(CORE) <= set(artifacts.contracts.names())
    assert len(artifacts.enforcers) == 33
    assert {"ERC20PeriodTransferEnforcer", "NativeTokenPaymentEnforcer"} <= set(artifacts.enforcers)
    assert set(artifacts.enforcers) <= set(artifacts.contracts.names())
    for name in artifacts.contracts.names():
        assert artifacts.bytecode(name).startswith("0x")
        assert len(artifacts.bytecode(name)) > 100
        assert artifacts.abi(name)
    assert "__$b8f96b288d4d0429e38b8ed50fd423070f$__" in artifacts.bytecode("HybridDeleGator")
    assert artifacts.packages == {
        "@metamask/delegation-abis": "2.0.0",
        "@metamask/delegation-deployments": "2.0.0",
    }


def test_framework_export_has_the_published_deployment_for_each_supported_chain(
    built: Path,
) -> None:
    artifacts = load_framework_artifacts(built)

    assert artifacts.chain_ids() == tuple(sorted(SUPPORTED_CHAIN_IDS))
    assert artifacts.deployment("1.3.0", 8453)["DelegationManager"] == (
        "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3"
    )


def test_unknown_names_and_chains_say_what_is_known(built: Path) -> None:
    artifacts = load_framework_artifacts(built)

    with pytest.raises(ArtifactsMissing, match=r"no ABI for Nope .*DelegationManager"):
        artifacts.abi("Nope")
    with pytest.raises(ArtifactsMissing, match="no creation code for Nope"):
        artifacts.bytecode("Nope")
    with pytest.raises(ArtifactsMissing, match=r"chain 56 .*export_artifacts\.mjs"):
        artifacts.deployment("1.3.0", 56)


def test_test_token_is_compiled_with_abi_and_creation_code(built: Path) -> None:
    contracts = load_contracts(built)

    abi_names = {entry.get("name") for entry in contracts.abi("TestToken")}
    assert {"mint", "transfer", "transferFrom", "approve", "decimals", "Transfer"} <= abi_names
    assert {"ERC20InsufficientBalance", "ERC20InsufficientAllowance"} <= abi_names
    assert contracts.bytecode("TestToken").startswith("0x6080")


def test_artifacts_dir_defaults_to_build_and_follows_the_env_override(tmp_path: Path) -> None:
    assert artifacts_dir(ROOT, env={}) == ROOT / "build"
    assert artifacts_dir(ROOT, env={ARTIFACTS_DIR_ENV: str(tmp_path)}) == tmp_path.resolve()


def test_missing_artifact_file_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ArtifactsMissing, match="npm ci"):
        load_framework_artifacts(tmp_path)
    (tmp_path / CONTRACTS_FILE).write_text("[1, 2]")
    with pytest.raises(ArtifactsMissing, match="JSON object"):
        load_contracts(tmp_path)


def test_ensure_built_leaves_fresh_outputs_alone(built: Path) -> None:
    before = {f: (built / f).stat().st_mtime_ns for f in (FRAMEWORK_ARTIFACTS_FILE, CONTRACTS_FILE)}

    assert ensure_built(ROOT) == built

    after = {f: (built / f).stat().st_mtime_ns for f in (FRAMEWORK_ARTIFACTS_FILE, CONTRACTS_FILE)}
    assert after == before


def test_ensure_built_builds_missing_outputs_and_rebuilds_stale_ones(
    tmp_path: Path, built: Path
) -> None:
    out = ensure_built(ROOT, out_dir=tmp_path)

    assert out == tmp_path
    assert load_framework_artifacts(tmp_path).enforcers == load_framework_artifacts(built).enforcers
    assert load_contracts(tmp_path).bytecode("TestToken") == load_contracts(built).bytecode(
        "TestToken"
    )

    # An output older than its inputs (contracts/*.sol, the lockfile) is rebuilt; a fresh one is not.
    framework_mtime = (tmp_path / FRAMEWORK_ARTIFACTS_FILE).stat().st_mtime_ns
    os.utime(tmp_path / CONTRACTS_FILE, ns=(0, 0))
    ensure_built(ROOT, out_dir=tmp_path)
    assert (tmp_path / CONTRACTS_FILE).stat().st_mtime_ns > 0
    assert (tmp_path / FRAMEWORK_ARTIFACTS_FILE).stat().st_mtime_ns == framework_mtime


def test_ensure_built_without_node_modules_says_run_npm_ci(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")

    with pytest.raises(ToolMissing, match="run `npm ci`"):
        ensure_built(tmp_path)
    assert not (tmp_path / "build").exists()
