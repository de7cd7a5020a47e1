"""Contract artifacts: ABIs, creation code and MetaMask's published deployments.

Two JSON files, made at build time by the node scripts in ``scripts/chain/`` from the pinned npm
packages (Python never runs JavaScript at run time):

- ``framework-artifacts.json`` — the Delegation Framework v1.3.0 contracts Cyphera uses (ABIs,
  creation code) and MetaMask's published addresses for the chains we support
  (`scripts/chain/export_artifacts.mjs`).
- ``contracts.json`` — our own contracts (the ``TestToken``), compiled with solcjs
  (`scripts/chain/compile_contracts.mjs`).

Both live in ``<project root>/build/`` (git-ignored); ``CYPHERA_ARTIFACTS_DIR`` points elsewhere,
for example at a directory baked into a production image. `ensure_built` (re)builds them from a
fresh clone once ``npm ci`` has run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from eth_typing import ABI
from eth_utils.address import to_checksum_address

from cyphera.chain.errors import ArtifactsMissing, ToolMissing
from cyphera.delegation.addresses import FrameworkAddresses

ARTIFACTS_DIR_ENV = "CYPHERA_ARTIFACTS_DIR"
FRAMEWORK_ARTIFACTS_FILE = "framework-artifacts.json"
CONTRACTS_FILE = "contracts.json"
FRAMEWORK_VERSION = "1.3.0"

_BUILD_HINT = (
    "build them: run `npm ci`, then cyphera.chain.artifacts.ensure_built() "
    "(it runs scripts/chain/export_artifacts.mjs and compile_contracts.mjs)"
)
_NODE_TIMEOUT_SECONDS = 180


def find_project_root(start: Path | None = None) -> Path:
    """The checkout holding ``pyproject.toml`` above `start` (this file by default), else the cwd."""
    here = (start or Path(__file__)).resolve()
    for parent in (here, *here.parents):
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def artifacts_dir(project_root: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Where the artifact JSON files are: ``$CYPHERA_ARTIFACTS_DIR``, else ``<root>/build``."""
    environ = os.environ if env is None else env
    override = environ.get(ARTIFACTS_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser().resolve()
    return (project_root or find_project_root()) / "build"


@dataclass(frozen=True, slots=True)
class CompiledContracts:
    """ABIs and creation code of a set of contracts, by contract name."""

    source: Path
    abis: Mapping[str, ABI]
    bytecodes: Mapping[str, str]

    def names(self) -> tuple[str, ...]:
        """Every contract name in the set, sorted."""
        return tuple(sorted(self.abis))

    def abi(self, name: str) -> ABI:
        """The ABI of `name` (shared: do not mutate it)."""
        try:
            return self.abis[name]
        except KeyError:
            raise ArtifactsMissing(
                f"no ABI for {name} in {self.source}; known: {', '.join(self.names())}"
            ) from None

    def bytecode(self, name: str) -> str:
        """The ``0x``-prefixed creation code of `name`; it may hold library placeholders."""
        try:
            return self.bytecodes[name]
        except KeyError:
            raise ArtifactsMissing(
                f"no creation code for {name} in {self.source}; known: {', '.join(self.names())}"
            ) from None


@dataclass(frozen=True, slots=True)
class FrameworkArtifacts:
    """The MetaMask Delegation Framework as exported from its npm packages."""

    contracts: CompiledContracts
    enforcers: tuple[str, ...]
    packages: Mapping[str, str]
    deployments: Mapping[str, Mapping[int, Mapping[str, str]]] = field(repr=False)

    @property
    def source(self) -> Path:
        return self.contracts.source

    def abi(self, name: str) -> ABI:
        """The ABI of contract `name` (for example ``"DelegationManager"``)."""
        return self.contracts.abi(name)

    def bytecode(self, name: str) -> str:
        """The creation code of contract `name`, ``0x``-prefixed."""
        return self.contracts.bytecode(name)

    def chain_ids(self, version: str = FRAMEWORK_VERSION) -> tuple[int, ...]:
        """The chain ids with a published deployment of `version` in this export."""
        return tuple(sorted(self.deployments.get(version, {})))

    def deployment(self, version: str, chain_id: int) -> Mapping[str, str]:
        """MetaMask's published addresses (name → checksummed address) of `version` on a chain."""
        try:
            return self.deployments[version][chain_id]
        except KeyError:
            raise ArtifactsMissing(
                f"no Delegation Framework {version} deployment for chain {chain_id} in "
                f"{self.source}; add the chain to scripts/chain/export_artifacts.mjs and rebuild"
            ) from None

    def framework_addresses(
        self, chain_id: int, version: str = FRAMEWORK_VERSION
    ) -> FrameworkAddresses:
        """The published deployment on `chain_id` as the library's `FrameworkAddresses`."""
        record = self.deployment(version, chain_id)
        try:
            return FrameworkAddresses(
                delegation_manager=record["DelegationManager"],
                entry_point=record["EntryPoint"],
                simple_factory=record["SimpleFactory"],
                hybrid_delegator_impl=record["HybridDeleGatorImpl"],
                eip7702_stateless_delegator_impl=record["EIP7702StatelessDeleGatorImpl"],
                enforcers=MappingProxyType({name: record[name] for name in self.enforcers}),
            )
        except KeyError as exc:
            raise ArtifactsMissing(
                f"the {version} deployment for chain {chain_id} lacks {exc.args[0]}"
            ) from None


def load_framework_artifacts(directory: Path | None = None) -> FrameworkArtifacts:
    """Read ``framework-artifacts.json`` from `directory` (default: `artifacts_dir()`)."""
    path = (directory or artifacts_dir()) / FRAMEWORK_ARTIFACTS_FILE
    data = _read_json(path)
    try:
        contracts = CompiledContracts(
            source=path,
            abis=MappingProxyType({k: cast(ABI, v) for k, v in data["abis"].items()}),
            bytecodes=MappingProxyType(dict(data["bytecode"])),
        )
        deployments = {
            version: MappingProxyType(
                {
                    int(chain_id): MappingProxyType(_checksummed(record))
                    for chain_id, record in by_chain.items()
                }
            )
            for version, by_chain in data["deployments"].items()
        }
        return FrameworkArtifacts(
            contracts=contracts,
            enforcers=tuple(data["enforcers"]),
            packages=MappingProxyType(dict(data["packages"])),
            deployments=MappingProxyType(deployments),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactsMissing(
            f"{path} is not a framework artifact file ({exc}); {_BUILD_HINT}"
        ) from exc


def load_contracts(directory: Path | None = None) -> CompiledContracts:
    """Read our own compiled contracts (``contracts.json``) from `directory`."""
    path = (directory or artifacts_dir()) / CONTRACTS_FILE
    data = _read_json(path)
    try:
        by_name: Mapping[str, Any] = data["contracts"]
        return CompiledContracts(
            source=path,
            abis=MappingProxyType({k: cast(ABI, v["abi"]) for k, v in by_name.items()}),
            bytecodes=MappingProxyType({k: str(v["bytecode"]) for k, v in by_name.items()}),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ArtifactsMissing(f"{path} is not a contracts file ({exc}); {_BUILD_HINT}") from exc


@dataclass(frozen=True, slots=True)
class _BuildStep:
    script: str
    output: str
    inputs: tuple[str, ...]


def _build_steps(project_root: Path) -> tuple[_BuildStep, ...]:
    lockfiles = ("package-lock.json", "node_modules/.package-lock.json")
    sources = tuple(
        str(p.relative_to(project_root)) for p in sorted((project_root / "contracts").glob("*.sol"))
    )
    return (
        _BuildStep(
            script="scripts/chain/export_artifacts.mjs",
            output=FRAMEWORK_ARTIFACTS_FILE,
            inputs=lockfiles,
        ),
        _BuildStep(
            script="scripts/chain/compile_contracts.mjs",
            output=CONTRACTS_FILE,
            inputs=(*lockfiles, *sources),
        ),
    )


def ensure_built(
    project_root: Path | None = None, *, out_dir: Path | None = None, node: str | None = None
) -> Path:
    """Run the node build scripts whose output is missing or older than its inputs.

    Inputs are the script itself, the npm lockfiles and, for our contracts, ``contracts/*.sol``.
    Returns the directory holding the outputs. Raises `ToolMissing` when node or
    ``node_modules`` is absent and `ArtifactsMissing` when a script fails.
    """
    root = project_root or find_project_root()
    target_dir = out_dir or artifacts_dir(root)
    stale = [
        step
        for step in _build_steps(root)
        if _is_stale(
            target_dir / step.output, [root / step.script, *(root / i for i in step.inputs)]
        )
    ]
    if not stale:
        return target_dir
    if not (root / "node_modules").is_dir():
        raise ToolMissing(f"{root / 'node_modules'} not found: run `npm ci` in {root}")
    node_bin = node or shutil.which("node")
    if node_bin is None:
        raise ToolMissing("node not found on PATH: install Node.js 20 or newer, then run `npm ci`")
    target_dir.mkdir(parents=True, exist_ok=True)
    for step in stale:
        command = [node_bin, str(root / step.script), str(target_dir / step.output)]
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                command,
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
                timeout=_NODE_TIMEOUT_SECONDS,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ArtifactsMissing(f"could not run {step.script}: {exc}") from exc
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            raise ArtifactsMissing(
                f"{step.script} failed (exit {result.returncode}): {detail}; "
                "check that `npm ci` completed"
            )
    return target_dir


def _is_stale(output: Path, inputs: Iterable[Path]) -> bool:
    try:
        built_at = output.stat().st_mtime_ns
    except FileNotFoundError:
        return True
    return any(p.exists() and p.stat().st_mtime_ns > built_at for p in inputs)


def _read_json(path: Path) -> Mapping[str, Any]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ArtifactsMissing(f"{path} not found: {_BUILD_HINT}") from None
    return _read_json_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_json_cached(path: Path, mtime_ns: int, size: int) -> Mapping[str, Any]:
    # Keyed by mtime and size so a rebuilt file is re-read, while repeated loads stay free.
    del mtime_ns, size
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactsMissing(f"cannot read {path} ({exc}): {_BUILD_HINT}") from exc
    if not isinstance(data, dict):
        raise ArtifactsMissing(f"{path} does not hold a JSON object: {_BUILD_HINT}")
    return data


def _checksummed(record: Mapping[str, str]) -> dict[str, str]:
    return {name: to_checksum_address(address) for name, address in record.items()}
