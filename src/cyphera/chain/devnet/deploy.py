"""Deploy the Delegation Framework v1.3.0 and the test tokens to a local chain.

The creation code comes from the exported npm artifacts; it does not reproduce MetaMask's CREATE2
addresses, so contracts are deployed with plain CREATE from one deployer and their addresses are
computed up front from its nonces. All transactions go out back to back and are awaited together
(about a second on anvil). The same deployer on a fresh chain always yields the same addresses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, cast

from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount
from eth_typing import ABI
from eth_utils.address import to_checksum_address
from eth_utils.conversions import to_bytes
from eth_utils.crypto import keccak
from web3 import Web3

from cyphera.chain.artifacts import (
    FRAMEWORK_VERSION,
    CompiledContracts,
    FrameworkArtifacts,
    load_contracts,
    load_framework_artifacts,
)
from cyphera.chain.devnet.helpers import send_transactions
from cyphera.chain.errors import DeploymentError
from cyphera.chain.local import LocalDeployment
from cyphera.chain.models import Token
from cyphera.delegation.addresses import FrameworkAddresses

# HybridDeleGator links the P-256 verifier library SCL_RIP7212 through this solc placeholder.
LIBRARY_PLACEHOLDERS = MappingProxyType({"__$b8f96b288d4d0429e38b8ed50fd423070f$__": "SCL_RIP7212"})
# Framework constructor parameters by name → the planned contract (or the deployer) passed in.
# LogicalOrWrapperEnforcer and NativeTokenPaymentEnforcer take the manager; the rest of the
# enforcers take nothing.
_DEPLOYER = "<deployer>"
CONSTRUCTOR_ARGUMENTS = MappingProxyType(
    {
        "_owner": _DEPLOYER,
        "_delegationManager": "DelegationManager",
        "_entryPoint": "EntryPoint",
        "_argsEqualityCheckEnforcer": "ArgsEqualityCheckEnforcer",
    }
)
# (symbol, ERC-20 name) of the stand-ins deployed from contracts/TestToken.sol, all 6 decimals.
TEST_TOKENS: tuple[tuple[str, str], ...] = (("USDC", "USD Coin"), ("USDT", "Tether USD"))
TEST_TOKEN_DECIMALS = 6
# Generous fixed limit (the largest contract needs ~5M): skips 40 estimate round trips.
_DEPLOY_GAS = 15_000_000
_PLACEHOLDER = re.compile(r"__\$[0-9a-f]{34}\$__")


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to: keccak(rlp([sender, nonce]))[12:]."""
    if nonce < 0:
        raise ValueError("nonce must not be negative")
    if nonce == 0:
        encoded_nonce = b"\x80"
    elif nonce < 0x80:
        encoded_nonce = bytes([nonce])
    else:
        raw = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
        encoded_nonce = bytes([0x80 + len(raw)]) + raw
    payload = b"\x94" + to_bytes(hexstr=sender) + encoded_nonce
    return to_checksum_address(keccak(bytes([0xC0 + len(payload)]) + payload)[12:])


@dataclass(frozen=True, slots=True)
class _Planned:
    name: str  # key in the deploy record
    artifact: str  # contract name in the artifacts
    address: str
    code: str  # creation code, linked, without constructor arguments
    abi: ABI
    args: tuple[Any, ...]


def deploy_framework(
    w3: Web3,
    deployer: LocalAccount,
    *,
    artifacts: FrameworkArtifacts | None = None,
    contracts: CompiledContracts | None = None,
) -> LocalDeployment:
    """Deploy the framework, every caveat enforcer and test USDC/USDT; return the record.

    Order: SCL_RIP7212 (linked into HybridDeleGator), DelegationManager(owner = deployer),
    EntryPoint, SimpleFactory, EIP7702StatelessDeleGator(dm, ep), HybridDeleGator(dm, ep), every
    enforcer in name order (arguments by parameter name, see `CONSTRUCTOR_ARGUMENTS`: e.g.
    NativeTokenPaymentEnforcer(dm, ArgsEqualityCheckEnforcer)), then TestToken USDC and USDT.
    """
    framework_artifacts = artifacts or load_framework_artifacts()
    own_contracts = contracts or load_contracts()
    start_nonce = w3.eth.get_transaction_count(deployer.address, "pending")
    plan = _plan(framework_artifacts, own_contracts, deployer.address, start_nonce)
    transactions = [{"data": _creation_data(p), "gas": _DEPLOY_GAS} for p in plan]
    receipts = send_transactions(w3, deployer, transactions)
    for planned, receipt in zip(plan, receipts, strict=True):
        if receipt["contractAddress"] != planned.address:
            raise DeploymentError(
                f"{planned.name} landed at {receipt['contractAddress']}, expected "
                f"{planned.address}: was another transaction sent from {deployer.address}?"
            )
    at = {p.name: p.address for p in plan}
    framework = FrameworkAddresses(
        delegation_manager=at["DelegationManager"],
        entry_point=at["EntryPoint"],
        simple_factory=at["SimpleFactory"],
        hybrid_delegator_impl=at["HybridDeleGatorImpl"],
        eip7702_stateless_delegator_impl=at["EIP7702StatelessDeleGatorImpl"],
        enforcers=MappingProxyType({n: at[n] for n in framework_artifacts.enforcers}),
    )
    tokens = {
        symbol: Token(symbol, at[f"TestToken:{symbol}"], TEST_TOKEN_DECIMALS)
        for symbol, _ in TEST_TOKENS
    }
    return LocalDeployment(
        chain_id=w3.eth.chain_id,
        framework=framework,
        tokens=MappingProxyType(tokens),
        deployer=deployer.address,
        block_number=int(receipts[-1]["blockNumber"]),
        framework_version=FRAMEWORK_VERSION,
        libraries=MappingProxyType({"SCL_RIP7212": at["SCL_RIP7212"]}),
    )


def _plan(
    artifacts: FrameworkArtifacts, contracts: CompiledContracts, deployer: str, nonce: int
) -> list[_Planned]:
    # (name in the deploy record, artifact name), in nonce order
    order: list[tuple[str, str]] = [
        ("SCL_RIP7212", "SCL_RIP7212"),
        ("DelegationManager", "DelegationManager"),
        ("EntryPoint", "EntryPoint"),
        ("SimpleFactory", "SimpleFactory"),
        ("EIP7702StatelessDeleGatorImpl", "EIP7702StatelessDeleGator"),
        ("HybridDeleGatorImpl", "HybridDeleGator"),
        *((name, name) for name in artifacts.enforcers),
    ]
    at = {name: create_address(deployer, nonce + i) for i, (name, _) in enumerate(order)}
    for i, (symbol, _) in enumerate(TEST_TOKENS):
        at[f"TestToken:{symbol}"] = create_address(deployer, nonce + len(order) + i)

    libraries = {name: at[name] for name in LIBRARY_PLACEHOLDERS.values()}
    sources = {**at, _DEPLOYER: deployer}
    plan = [
        _Planned(
            name=name,
            artifact=artifact,
            address=at[name],
            code=_link(artifact, artifacts.bytecode(artifact), libraries),
            abi=artifacts.abi(artifact),
            args=_framework_args(artifact, artifacts.abi(artifact), sources),
        )
        for name, artifact in order
    ]
    plan += [
        _Planned(
            name=f"TestToken:{symbol}",
            artifact="TestToken",
            address=at[f"TestToken:{symbol}"],
            code=contracts.bytecode("TestToken"),
            abi=contracts.abi("TestToken"),
            args=(token_name, symbol),
        )
        for symbol, token_name in TEST_TOKENS
    ]
    return plan


def _framework_args(artifact: str, abi: ABI, sources: Mapping[str, str]) -> tuple[str, ...]:
    args = []
    for parameter in _constructor_inputs(abi):
        source = CONSTRUCTOR_ARGUMENTS.get(str(parameter.get("name")))
        if source is None:
            raise DeploymentError(
                f"{artifact} has constructor parameter {parameter.get('name')!r}, which the "
                "local deploy does not know; add it to CONSTRUCTOR_ARGUMENTS"
            )
        args.append(sources[source])
    return tuple(args)


def _link(name: str, code: str, libraries: dict[str, str]) -> str:
    for placeholder, library in LIBRARY_PLACEHOLDERS.items():
        code = code.replace(placeholder, libraries[library][2:].lower())
    leftover = _PLACEHOLDER.search(code)
    if leftover:
        raise DeploymentError(
            f"{name} needs an unknown library {leftover.group(0)}; add it to LIBRARY_PLACEHOLDERS"
        )
    return code


def _creation_data(planned: _Planned) -> bytes:
    types = [str(parameter["type"]) for parameter in _constructor_inputs(planned.abi)]
    if len(types) != len(planned.args):
        raise DeploymentError(
            f"{planned.artifact} takes {len(types)} constructor arguments ({', '.join(types)}), "
            f"the deploy plan gives {len(planned.args)}"
        )
    return to_bytes(hexstr=planned.code) + encode(list(types), list(planned.args))


def _constructor_inputs(abi: ABI) -> Sequence[Mapping[str, Any]]:
    for entry in abi:
        if entry.get("type") == "constructor":
            return cast(Sequence[Mapping[str, Any]], entry.get("inputs", []))
    return []


def verify_deployment(w3: Web3, deployment: LocalDeployment) -> None:
    """Check the chain is `deployment`'s and holds code at every recorded address.

    For a chain restarted from persisted state: raises `DeploymentError` naming what is missing,
    so the caller can deploy afresh.
    """
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise DeploymentError(
            f"the record is for chain {deployment.chain_id}, the node is chain {chain_id}"
        )
    missing = [
        name
        for name, address in deployment.contract_addresses().items()
        if len(w3.eth.get_code(to_checksum_address(address))) == 0
    ]
    if missing:
        raise DeploymentError(
            f"no code at {len(missing)} recorded contract(s) ({', '.join(sorted(missing)[:5])}"
            f"{', ...' if len(missing) > 5 else ''}): the chain state was not persisted; deploy again"
        )
