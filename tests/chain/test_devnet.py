"""The local chain: the deployed framework, the test tokens, 7702 upgrades, time and persistence."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from eth_abi.abi import decode, encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.exceptions import ContractCustomError

from cyphera.chain.devnet import (
    DELEGATION_DESIGNATOR,
    AnvilProcess,
    Devnet,
    delegated_implementation,
    find_anvil,
    free_port,
    revert,
    snapshot,
    start_devnet,
    token_balance,
    transact,
    verify_deployment,
)
from cyphera.chain.devnet.session import DEPLOYMENT_FILE, STATE_FILE
from cyphera.chain.errors import DeploymentError, DevnetError, ToolMissing

USDC = 10**6  # one token in base units


def test_every_deployed_contract_has_code(chain: Devnet) -> None:
    addresses = chain.deployment.contract_addresses()

    # 5 core contracts, 33 enforcers, the SCL_RIP7212 library, test USDC and USDT.
    assert len(addresses) == 41
    assert len(set(addresses.values())) == 41
    for name, address in addresses.items():
        assert len(chain.w3.eth.get_code(to_checksum_address(address))) > 0, name
    verify_deployment(chain.w3, chain.deployment)


def test_domain_hash_is_the_eip712_domain_separator(chain: Devnet) -> None:
    manager = chain.deployment.framework.delegation_manager
    type_hash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [type_hash, keccak(text="DelegationManager"), keccak(text="1"), 31337, manager],
        )
    )

    assert chain.delegation_manager().functions.getDomainHash().call() == expected


def test_framework_is_wired_to_its_manager_and_owner(chain: Devnet) -> None:
    fw = chain.deployment.framework
    manager = chain.delegation_manager()
    stateless = chain.contract("EIP7702StatelessDeleGator", fw.eip7702_stateless_delegator_impl)
    payment = chain.contract(
        "NativeTokenPaymentEnforcer", fw.enforcer("NativeTokenPaymentEnforcer")
    )

    assert manager.functions.owner().call() == chain.deployer.address
    assert stateless.functions.delegationManager().call() == fw.delegation_manager
    assert stateless.functions.entryPoint().call() == fw.entry_point
    assert payment.functions.delegationManager().call() == fw.delegation_manager
    assert payment.functions.argsEqualityCheckEnforcer().call() == fw.enforcer(
        "ArgsEqualityCheckEnforcer"
    )


def test_registry_local_network_is_this_chain(devnet: Devnet) -> None:
    network = devnet.network

    assert network.chain_id == devnet.w3.eth.chain_id == 31337
    assert network.rpc_urls == (devnet.rpc_url,)
    assert network.framework == devnet.deployment.framework
    assert set(network.tokens) == {"USDC", "USDT"}
    assert devnet.registry.get("base").framework.delegation_manager == (
        "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3"
    )


def test_test_tokens_mint_and_transfer_with_6_decimals(chain: Devnet) -> None:
    usdc = chain.token("USDC")
    holder, payee = chain.new_account(), chain.new_account()

    receipt = chain.fund_token("USDC", holder.address, 25 * USDC)
    transact(
        chain.w3,
        holder,
        usdc.address,
        bytes.fromhex(usdc.encode_abi("transfer", [payee.address, 7 * USDC])[2:]),
    )

    assert (usdc.functions.name().call(), usdc.functions.symbol().call()) == ("USD Coin", "USDC")
    assert usdc.functions.decimals().call() == 6
    assert chain.token("USDT").functions.name().call() == "Tether USD"
    assert usdc.functions.totalSupply().call() == 25 * USDC
    assert chain.token_balance("USDC", holder.address) == 18 * USDC
    assert chain.token_balance("USDC", payee.address) == 7 * USDC
    assert chain.token_balance("USDT", payee.address) == 0
    (minted,) = usdc.events.Transfer().process_receipt(receipt)
    assert minted["args"]["to"] == holder.address
    assert minted["args"]["value"] == 25 * USDC


def test_overdrawn_transfer_reverts_with_the_erc6093_error(chain: Devnet) -> None:
    usdc = chain.token("USDC")
    holder, payee = chain.new_account(), chain.new_account()
    chain.fund_token("USDC", holder.address, 5 * USDC)

    with pytest.raises(ContractCustomError) as raised:
        usdc.functions.transfer(payee.address, 6 * USDC).call({"from": holder.address})

    selector = keccak(text="ERC20InsufficientBalance(address,uint256,uint256)")[:4]
    data = bytes.fromhex(str(raised.value.data)[2:])
    assert data[:4] == selector
    assert decode(["address", "uint256", "uint256"], data[4:]) == (
        holder.address.lower(),
        5 * USDC,
        6 * USDC,
    )
    assert chain.token_balance("USDC", payee.address) == 0


def test_sponsored_7702_upgrade_delegates_the_account_without_using_its_nonce(
    chain: Devnet,
) -> None:
    customer = chain.new_account(ether=0)
    impl = chain.deployment.framework.eip7702_stateless_delegator_impl
    relayer_nonce = chain.w3.eth.get_transaction_count(chain.relayer.address)

    chain.upgrade_to_7702(customer)

    code = bytes(chain.w3.eth.get_code(customer.address))
    assert code == DELEGATION_DESIGNATOR + bytes.fromhex(impl[2:])
    assert delegated_implementation(chain.w3, customer.address) == impl
    # The authorization bumps the account's nonce; only the sponsor sent a transaction.
    assert chain.w3.eth.get_transaction_count(customer.address) == 1
    assert chain.w3.eth.get_transaction_count(chain.relayer.address) == relayer_nonce + 1


def test_self_sent_7702_upgrade_signs_the_next_nonce(chain: Devnet) -> None:
    customer = chain.new_account()
    impl = chain.deployment.framework.eip7702_stateless_delegator_impl

    chain.upgrade_to_7702(customer, sponsor=customer)

    assert delegated_implementation(chain.w3, customer.address) == impl
    assert chain.w3.eth.get_transaction_count(customer.address) == 2
    assert delegated_implementation(chain.w3, chain.new_account().address) is None


def test_time_travel_applies_to_the_next_call(chain: Devnet) -> None:
    before = chain.latest_timestamp()

    after = chain.time_travel(30 * 86_400)

    assert after >= before + 30 * 86_400
    assert chain.latest_timestamp() == after
    assert chain.set_next_block_timestamp(after + 1_000) == after + 1_000
    with pytest.raises(ValueError, match="forward"):
        chain.time_travel(-1)


def test_snapshot_and_revert_restore_state_and_time(chain: Devnet) -> None:
    holder = chain.new_account()
    before_time, before_block = chain.latest_timestamp(), chain.w3.eth.block_number
    snapshot_id = snapshot(chain.w3)
    chain.fund_token("USDT", holder.address, 3 * USDC)
    chain.time_travel(86_400)

    revert(chain.w3, snapshot_id)

    assert token_balance(chain.w3, chain.network.token("USDT"), holder.address) == 0
    assert chain.w3.eth.block_number == before_block
    assert chain.latest_timestamp() == before_time
    with pytest.raises(DevnetError, match="evm_revert"):
        revert(chain.w3, snapshot_id)


def test_state_file_keeps_the_deployment_and_balances_across_restarts(
    tmp_path: Path, devnet: Devnet
) -> None:
    with start_devnet(state_dir=tmp_path) as first:
        # Same deployer, fresh chain: the same addresses as the session's chain.
        assert first.deployment == devnet.deployment
        first.fund_token("USDC", first.relayer.address, 42 * USDC)
        deployer_nonce = first.w3.eth.get_transaction_count(first.deployer.address)
    assert (tmp_path / STATE_FILE).is_file()
    assert (tmp_path / DEPLOYMENT_FILE).is_file()

    with start_devnet(state_dir=tmp_path) as second:
        verify_deployment(second.w3, second.deployment)
        assert second.deployment == first.deployment
        assert second.token_balance("USDC", second.relayer.address) == 42 * USDC
        # Reused, not deployed again.
        assert second.w3.eth.get_transaction_count(second.deployer.address) == deployer_nonce


def test_a_killed_chain_without_state_is_detected_and_redeployed(tmp_path: Path) -> None:
    with start_devnet(state_dir=tmp_path) as first:
        record = first.deployment
        assert first.anvil.pid is not None
        os.kill(first.anvil.pid, signal.SIGKILL)  # no chance to dump the state file
        first.anvil.stop()
    assert not (tmp_path / STATE_FILE).exists()

    with AnvilProcess() as bare:
        with pytest.raises(DeploymentError, match="no code at 41 recorded contract"):
            verify_deployment(bare.web3(), record)
    with start_devnet(state_dir=tmp_path) as second:
        verify_deployment(second.w3, second.deployment)
        assert second.deployment == record


def test_anvil_on_a_taken_port_fails_with_its_own_message(devnet: Devnet) -> None:
    anvil = AnvilProcess(port=devnet.anvil.port, startup_timeout=5)

    with pytest.raises(DevnetError, match=r"port \d+ on 127\.0\.0\.1 is already in use"):
        anvil.start()
    assert not anvil.is_running
    assert devnet.w3.eth.chain_id == 31337


def test_anvil_stops_by_pid_and_restarts_on_the_same_port() -> None:
    anvil = AnvilProcess(port=free_port())
    with anvil:
        first_pid = anvil.pid
        assert anvil.web3().eth.block_number == 0
    assert not anvil.is_running
    anvil.stop()  # idempotent
    with anvil:
        assert anvil.pid != first_pid
        assert anvil.web3().eth.chain_id == 31337
        assert anvil.rpc_url == f"http://127.0.0.1:{anvil.port}"


def test_missing_anvil_says_run_npm_ci(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match=r"anvil not found .*run `npm ci`"):
        find_anvil(tmp_path)


def test_a_refused_transaction_is_reported_and_changes_nothing(chain: Devnet) -> None:
    usdc = chain.token("USDC")
    broke, payee = chain.new_account(), chain.new_account()
    call = bytes.fromhex(usdc.encode_abi("transfer", [payee.address, 1])[2:])

    with pytest.raises(DevnetError, match=r"transaction 0 of 1 from 0x[0-9a-fA-F]{40} was refused"):
        transact(chain.w3, broke, usdc.address, call)
    assert chain.w3.eth.get_transaction_count(broke.address) == 0
