"""The record of a Delegation Framework deployment on the local chain.

MetaMask's CREATE2 addresses cannot be reproduced from the npm creation code, so the local chain's
addresses are whatever `cyphera.chain.devnet.deploy_framework` produced. This record keeps them
(as JSON beside anvil's state file) and turns them into the registry's ``local`` `Network`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from eth_utils.address import is_checksum_address

from cyphera.chain.errors import DeploymentError
from cyphera.chain.models import Network, Token
from cyphera.delegation.addresses import FrameworkAddresses

LOCAL_CHAIN_ID = 31337
LOCAL_NETWORK_KEY = "local"
# Anvil mines a block per transaction (automine); one block is as final as it gets there.
LOCAL_CONFIRMATIONS = 1
LOCAL_BLOCK_TIME_SECONDS = 1.0
_RECORD_FORMAT = 1


@dataclass(frozen=True, slots=True)
class LocalDeployment:
    """Where the framework and the test tokens live on a local chain.

    ``libraries`` holds contracts deployed only to be linked (``SCL_RIP7212``); ``block_number`` is
    the block of the last deploy transaction.
    """

    chain_id: int
    framework: FrameworkAddresses
    tokens: Mapping[str, Token]
    deployer: str
    block_number: int
    framework_version: str = "1.3.0"
    libraries: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def contract_addresses(self) -> dict[str, str]:
        """Every deployed contract by name: framework, enforcers, libraries and tokens."""
        fw = self.framework
        named = {
            "DelegationManager": fw.delegation_manager,
            "EntryPoint": fw.entry_point,
            "SimpleFactory": fw.simple_factory,
            "HybridDeleGatorImpl": fw.hybrid_delegator_impl,
            "EIP7702StatelessDeleGatorImpl": fw.eip7702_stateless_delegator_impl,
        }
        named.update(fw.enforcers)
        named.update(self.libraries)
        named.update({f"TestToken:{symbol}": t.address for symbol, t in self.tokens.items()})
        return named

    def to_network(self, rpc_urls: tuple[str, ...] = ()) -> Network:
        """This deployment as the registry's ``local`` network, reachable at `rpc_urls`."""
        return Network(
            key=LOCAL_NETWORK_KEY,
            name="Local (anvil)",
            chain_id=self.chain_id,
            is_testnet=True,
            native_symbol="ETH",
            block_time_seconds=LOCAL_BLOCK_TIME_SECONDS,
            confirmations=LOCAL_CONFIRMATIONS,
            rpc_urls=rpc_urls,
            explorer_url=None,
            framework=self.framework,
            tokens=self.tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict` reads it back."""
        fw = self.framework
        return {
            "format": _RECORD_FORMAT,
            "chain_id": self.chain_id,
            "framework_version": self.framework_version,
            "deployer": self.deployer,
            "block_number": self.block_number,
            "framework": {
                "delegation_manager": fw.delegation_manager,
                "entry_point": fw.entry_point,
                "simple_factory": fw.simple_factory,
                "hybrid_delegator_impl": fw.hybrid_delegator_impl,
                "eip7702_stateless_delegator_impl": fw.eip7702_stateless_delegator_impl,
                "enforcers": dict(sorted(fw.enforcers.items())),
            },
            "libraries": dict(sorted(self.libraries.items())),
            "tokens": {
                symbol: {"address": t.address, "decimals": t.decimals}
                for symbol, t in sorted(self.tokens.items())
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalDeployment:
        """Parse a record written by `to_dict`; `DeploymentError` says what is wrong."""
        try:
            if data.get("format") != _RECORD_FORMAT:
                raise ValueError(f"unknown record format {data.get('format')!r}")
            fw = data["framework"]
            framework = FrameworkAddresses(
                delegation_manager=_address(fw["delegation_manager"]),
                entry_point=_address(fw["entry_point"]),
                simple_factory=_address(fw["simple_factory"]),
                hybrid_delegator_impl=_address(fw["hybrid_delegator_impl"]),
                eip7702_stateless_delegator_impl=_address(fw["eip7702_stateless_delegator_impl"]),
                enforcers=MappingProxyType(
                    {str(k): _address(v) for k, v in fw["enforcers"].items()}
                ),
            )
            tokens = {
                str(symbol): Token(
                    symbol=str(symbol), address=_address(t["address"]), decimals=int(t["decimals"])
                )
                for symbol, t in data["tokens"].items()
            }
            return cls(
                chain_id=int(data["chain_id"]),
                framework=framework,
                tokens=MappingProxyType(tokens),
                deployer=_address(data["deployer"]),
                block_number=int(data["block_number"]),
                framework_version=str(data["framework_version"]),
                libraries=MappingProxyType(
                    {str(k): _address(v) for k, v in data.get("libraries", {}).items()}
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DeploymentError(
                f"not a local deployment record ({type(exc).__name__}: {exc}); "
                "delete it and deploy again"
            ) from exc

    def to_json(self) -> str:
        """The record as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LocalDeployment:
        """Parse JSON text written by `to_json`."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DeploymentError(f"deployment record is not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise DeploymentError("deployment record is not a JSON object")
        return cls.from_dict(data)

    def save(self, path: Path) -> None:
        """Write the record to `path` atomically (write beside it, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(self.to_json(), encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> LocalDeployment:
        """Read a record saved by `save`."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DeploymentError(f"cannot read deployment record {path} ({exc})") from exc
        return cls.from_json(text)


def _address(value: object) -> str:
    if not isinstance(value, str) or not is_checksum_address(value):
        raise ValueError(f"{value!r} is not a checksummed address")
    return value
