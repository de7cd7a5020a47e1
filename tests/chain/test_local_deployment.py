"""The local deploy record: CREATE address prediction and its JSON round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from cyphera.chain.devnet import create_address, dev_accounts
from cyphera.chain.errors import DeploymentError
from cyphera.chain.local import LocalDeployment
from cyphera.chain.models import Token
from cyphera.delegation.addresses import FrameworkAddresses

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
RECORD = LocalDeployment(
    chain_id=31337,
    framework=FrameworkAddresses(
        delegation_manager=create_address(DEPLOYER, 1),
        entry_point=create_address(DEPLOYER, 2),
        simple_factory=create_address(DEPLOYER, 3),
        hybrid_delegator_impl=create_address(DEPLOYER, 5),
        eip7702_stateless_delegator_impl=create_address(DEPLOYER, 4),
        enforcers=MappingProxyType({"NonceEnforcer": create_address(DEPLOYER, 6)}),
    ),
    tokens=MappingProxyType({"USDC": Token("USDC", create_address(DEPLOYER, 7), 6)}),
    deployer=DEPLOYER,
    block_number=8,
    libraries=MappingProxyType({"SCL_RIP7212": create_address(DEPLOYER, 0)}),
)


def test_create_address_matches_known_vectors() -> None:
    # The first contracts every Hardhat/anvil user has seen from the first dev account.
    assert create_address(DEPLOYER, 0) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    assert create_address(DEPLOYER, 1) == "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
    # Multi-byte nonces take the long RLP form.
    assert create_address(DEPLOYER, 0x80) != create_address(DEPLOYER, 0x7F)
    with pytest.raises(ValueError, match="negative"):
        create_address(DEPLOYER, -1)


def test_dev_accounts_are_anvils_default_accounts() -> None:
    accounts = dev_accounts()

    assert len(accounts) == 10
    assert accounts[0].address == DEPLOYER
    assert accounts[1].address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_record_round_trips_through_json(tmp_path: Path) -> None:
    path = tmp_path / "state" / "deployment.json"

    RECORD.save(path)

    assert LocalDeployment.load(path) == RECORD
    assert LocalDeployment.from_json(RECORD.to_json()) == RECORD
    assert json.loads(path.read_text())["framework"]["enforcers"] == {
        "NonceEnforcer": RECORD.framework.enforcer("NonceEnforcer")
    }
    assert list(tmp_path.joinpath("state").iterdir()) == [path]


def test_contract_addresses_name_every_deployed_contract() -> None:
    names = RECORD.contract_addresses()

    assert names["SCL_RIP7212"] == RECORD.libraries["SCL_RIP7212"]
    assert names["TestToken:USDC"] == RECORD.tokens["USDC"].address
    assert len(names) == 8


def test_to_network_is_the_local_network() -> None:
    network = RECORD.to_network(rpc_urls=("http://127.0.0.1:1",))

    assert (network.key, network.chain_id, network.confirmations) == ("local", 31337, 1)
    assert network.framework is RECORD.framework
    assert network.tokens["USDC"] == RECORD.tokens["USDC"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("framework"), "KeyError"),
        (lambda d: d.update(format=99), "unknown record format 99"),
        (lambda d: d.update(deployer=DEPLOYER.lower()), "not a checksummed address"),
        (lambda d: d["tokens"]["USDC"].update(decimals="six"), "ValueError"),
    ],
)
def test_a_broken_record_is_refused_with_what_to_do(
    mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = RECORD.to_dict()
    mutate(data)

    with pytest.raises(DeploymentError, match=f"{message}.*deploy again"):
        LocalDeployment.from_dict(data)


def test_a_record_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    path.write_text("{not json")

    with pytest.raises(DeploymentError, match="not JSON"):
        LocalDeployment.load(path)
    with pytest.raises(DeploymentError, match="cannot read"):
        LocalDeployment.load(tmp_path / "missing.json")
