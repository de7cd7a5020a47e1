"""The library against the deployed framework v1.3.0 on anvil.

Conformance: the manager's own `getDelegationHash` and `getDomainHash` agree with `hash_delegation`
and `domain_separator` on generated delegations. Behaviour: a delegation signed by an EIP-7702
account with `default_periodic_caveats` moves exactly the period amount to the locked payee once
per window until it expires, and every other redemption reverts on-chain with the reason
`decode_revert` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hypothesis import given, settings
from web3.types import RPCEndpoint, TxReceipt

from cyphera.chain.devnet import Devnet, send_transactions
from cyphera.chain.devnet.helpers import fee_fields
from cyphera.delegation import (
    ANY_DELEGATE,
    ROOT_AUTHORITY,
    SINGLE_DEFAULT_MODE,
    Caveat,
    Delegation,
    RevertReason,
    decode_get_available_amount,
    decode_get_delegation_hash,
    decode_get_domain_hash,
    decode_revert,
    default_periodic_caveats,
    domain_separator,
    encode_erc20_transfer,
    encode_get_available_amount,
    encode_get_delegation_hash,
    encode_get_domain_hash,
    encode_permission_context,
    encode_redeem_delegations,
    encode_single_execution,
    hash_delegation,
    sign_delegation,
    terms,
)

from .strategies import delegations

DAY = 86_400
PERIOD = 30 * DAY
AMOUNT = 19_990_000  # 19.99 USDC per window
EXPIRY_IN = 90 * DAY
FUNDS = 1_000 * 10**6
REFUSED_GAS = 1_000_000  # a fixed limit, so a reverting redemption is mined instead of estimated


def _address(label: str) -> str:
    return to_checksum_address(keccak(text=f"test-onchain-{label}")[12:])


def _call(chain: Devnet, to: str, data: bytes, sender: str | None = None) -> dict[str, Any]:
    """A raw ``eth_call`` at the latest block: the JSON-RPC response, error and all."""
    call = {"from": sender or chain.relayer.address, "to": to, "data": "0x" + data.hex()}
    response: dict[str, Any] = dict(
        chain.w3.provider.make_request(RPCEndpoint("eth_call"), [call, "latest"])
    )
    return response


def _view(chain: Devnet, to: str, data: bytes) -> bytes:
    response = _call(chain, to, data)
    assert "error" not in response, response
    return bytes.fromhex(str(response["result"])[2:])


# --- conformance ------------------------------------------------------------------------------


def _manager_hash(devnet: Devnet, delegation: Delegation) -> bytes:
    manager = devnet.deployment.framework.delegation_manager
    return decode_get_delegation_hash(
        _view(devnet, manager, encode_get_delegation_hash(delegation))
    )


@settings(max_examples=25, deadline=None)
@given(delegation=delegations)
def test_manager_hashes_generated_delegations_like_the_library(
    devnet: Devnet, delegation: Delegation
) -> None:
    assert _manager_hash(devnet, delegation) == hash_delegation(delegation)


def _realistic(devnet: Devnet, shape: str) -> Delegation:
    framework = devnet.deployment.framework
    token = devnet.network.token("USDC").address
    caveats: list[Caveat] = []
    if shape.startswith("default"):
        caveats = default_periodic_caveats(
            framework,
            token=token,
            period_amount=AMOUNT,
            period_duration=PERIOD,
            start_date=1_800_000_000,
            expiry=1_800_000_000 + EXPIRY_IN,
            payee=_address("payee"),
            include_value_lte=shape == "default+value_lte",
        )
    elif shape == "metamask":
        caveats = [
            Caveat(
                framework.enforcer("ERC20PeriodTransferEnforcer"),
                terms.erc20_period_transfer(token, AMOUNT, PERIOD, 1_800_000_000),
            ),
            Caveat(framework.enforcer("ValueLteEnforcer"), terms.value_lte(0)),
            Caveat(framework.enforcer("NonceEnforcer"), terms.nonce(7)),
            Caveat(framework.enforcer("TimestampEnforcer"), terms.timestamp(0, 1_900_000_000)),
            Caveat(framework.enforcer("RedeemerEnforcer"), terms.redeemer([_address("relayer")])),
            Caveat(
                framework.enforcer("AllowedCalldataEnforcer"),
                terms.payee(_address("payee")),
                args=b"\x01\x02",  # args are not signed: they must not change the hash
            ),
        ]
    return Delegation(
        delegate=ANY_DELEGATE if shape == "open" else _address("delegate"),
        delegator=_address("delegator"),
        authority=keccak(text="parent") if shape == "redelegation" else ROOT_AUTHORITY,
        caveats=caveats,
        salt=2**256 - 1 if shape == "max-salt" else 0,
        signature=b"\x11" * 65,
    )


@pytest.mark.parametrize(
    "shape",
    ["default", "default+value_lte", "metamask", "open", "redelegation", "max-salt"],
)
def test_manager_hashes_our_delegation_shapes_like_the_library(devnet: Devnet, shape: str) -> None:
    delegation = _realistic(devnet, shape)

    assert _manager_hash(devnet, delegation) == hash_delegation(delegation)


def test_manager_domain_hash_is_the_library_domain_separator(devnet: Devnet) -> None:
    manager = devnet.deployment.framework.delegation_manager

    on_chain = decode_get_domain_hash(_view(devnet, manager, encode_get_domain_hash()))

    assert on_chain == domain_separator(chain_id=devnet.w3.eth.chain_id, delegation_manager=manager)


# --- a recurring charge on-chain -------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    customer: LocalAccount
    payee: str
    token: str
    delegation: Delegation
    start: int
    expiry: int


def _subscribe(chain: Devnet, *, include_value_lte: bool = False) -> Subscription:
    """A fresh 7702 customer holding test USDC, who signs our default caveats to the relayer."""
    customer = chain.new_account()
    chain.upgrade_to_7702(customer)
    chain.fund_token("USDC", customer.address, FUNDS)
    payee = chain.new_account(ether=0).address
    token = chain.network.token("USDC").address
    framework = chain.deployment.framework
    start = chain.latest_timestamp() - 60
    caveats = default_periodic_caveats(
        framework,
        token=token,
        period_amount=AMOUNT,
        period_duration=PERIOD,
        start_date=start,
        expiry=start + EXPIRY_IN,
        payee=payee,
        include_value_lte=include_value_lte,
    )
    delegation = sign_delegation(
        Delegation(
            delegate=chain.relayer.address,
            delegator=customer.address,
            authority=ROOT_AUTHORITY,
            caveats=caveats,
            salt=1,
        ),
        customer.key,
        chain_id=chain.w3.eth.chain_id,
        delegation_manager=framework.delegation_manager,
    )
    return Subscription(customer, payee, token, delegation, start, start + EXPIRY_IN)


def _redemption(
    sub: Subscription, *, to: str | None = None, amount: int = AMOUNT, value: int = 0
) -> bytes:
    execution = encode_single_execution(
        sub.token, value, encode_erc20_transfer(to or sub.payee, amount)
    )
    return encode_redeem_delegations(
        [encode_permission_context([sub.delegation])], [SINGLE_DEFAULT_MODE], [execution]
    )


def _redeem(chain: Devnet, calldata: bytes) -> TxReceipt:
    manager = chain.deployment.framework.delegation_manager
    return send_transactions(chain.w3, chain.relayer, [{"to": manager, "data": calldata}])[0]


def _refused(chain: Devnet, sub: Subscription, calldata: bytes) -> RevertReason:
    """Pre-flight must fail; then the transaction, mined anyway, must revert and move nothing."""
    manager = chain.deployment.framework.delegation_manager
    response = _call(chain, manager, calldata)
    assert "error" in response, "the pre-flight succeeded"
    reason = decode_revert(str(response["error"].get("data") or "0x"))

    w3 = chain.w3
    before = (
        chain.token_balance("USDC", sub.customer.address),
        w3.eth.get_balance(sub.customer.address),
    )
    signed = chain.relayer.sign_transaction(
        {
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(chain.relayer.address, "pending"),
            "to": manager,
            "data": calldata,
            "value": 0,
            "gas": REFUSED_GAS,
            **fee_fields(w3),
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30, poll_latency=0.02
    )
    assert receipt["status"] == 0
    assert receipt["gasUsed"] < REFUSED_GAS  # a revert, not an out-of-gas
    after = (
        chain.token_balance("USDC", sub.customer.address),
        w3.eth.get_balance(sub.customer.address),
    )
    assert after == before
    return reason


def _available(chain: Devnet, sub: Subscription) -> tuple[int, bool, int]:
    period_caveat = next(
        c
        for c in sub.delegation.caveats
        if c.enforcer == chain.deployment.framework.enforcer("ERC20PeriodTransferEnforcer")
    )
    data = encode_get_available_amount(
        hash_delegation(sub.delegation),
        chain.deployment.framework.delegation_manager,
        period_caveat.terms,
    )
    return decode_get_available_amount(_view(chain, period_caveat.enforcer, data))


def test_default_caveats_charge_the_period_amount_once_per_window_until_expiry(
    chain: Devnet,
) -> None:
    sub = _subscribe(chain)
    assert len(sub.delegation.caveats) == 3
    assert _available(chain, sub) == (AMOUNT, True, 1)

    over_cap = _refused(chain, sub, _redemption(sub, amount=AMOUNT + 1))
    assert (over_cap.code, over_cap.name) == (
        "period_cap_reached",
        "ERC20PeriodTransferEnforcer:transfer-amount-exceeded",
    )

    _redeem(chain, _redemption(sub))
    assert chain.token_balance("USDC", sub.payee) == AMOUNT
    assert chain.token_balance("USDC", sub.customer.address) == FUNDS - AMOUNT
    assert _available(chain, sub) == (0, False, 1)

    again = _refused(chain, sub, _redemption(sub, amount=1))
    assert (again.code, again.name) == (
        "period_cap_reached",
        "ERC20PeriodTransferEnforcer:transfer-amount-exceeded",
    )

    chain.time_travel(PERIOD)
    assert _available(chain, sub) == (AMOUNT, True, 2)
    _redeem(chain, _redemption(sub))
    assert chain.token_balance("USDC", sub.payee) == 2 * AMOUNT

    chain.time_travel(sub.expiry - chain.latest_timestamp())  # the last block is at `expiry`
    expired = _refused(chain, sub, _redemption(sub))
    assert (expired.code, expired.name) == (
        "permission_expired",
        "TimestampEnforcer:expired-delegation",
    )
    assert chain.token_balance("USDC", sub.payee) == 2 * AMOUNT


def test_a_transfer_to_another_payee_is_refused_by_the_payee_lock(chain: Devnet) -> None:
    sub = _subscribe(chain)

    reason = _refused(chain, sub, _redemption(sub, to=_address("attacker")))

    assert (reason.code, reason.name) == (
        "invalid_permission",
        "AllowedCalldataEnforcer:invalid-calldata",
    )
    assert chain.token_balance("USDC", _address("attacker")) == 0
    # The refused attempt consumed nothing: the rightful charge still goes through in full.
    _redeem(chain, _redemption(sub))
    assert chain.token_balance("USDC", sub.payee) == AMOUNT


def test_the_test_token_transfer_is_not_payable(chain: Devnet) -> None:
    holder = chain.new_account()
    chain.fund_token("USDC", holder.address, FUNDS)
    token = chain.network.token("USDC").address
    call = {
        "from": holder.address,
        "to": token,
        "data": "0x" + encode_erc20_transfer(_address("payee"), 1).hex(),
        "value": hex(1),
    }

    response = chain.w3.provider.make_request(RPCEndpoint("eth_call"), [call, "latest"])

    assert "error" in response
    assert decode_revert(str(response["error"].get("data") or "0x")).kind == "empty"


def test_value_riding_along_reverts_without_value_lte(chain: Devnet) -> None:
    """Default caveats (no ValueLte): the period enforcer lets value through, the token does not."""
    sub = _subscribe(chain)
    token_eth = chain.w3.eth.get_balance(to_checksum_address(sub.token))

    reason = _refused(chain, sub, _redemption(sub, value=1))

    # TestToken.transfer is non-payable: the call reverts without data, and the account's
    # executor bubbles that empty revert up through the manager.
    assert (reason.code, reason.kind) == ("unknown_revert", "empty")
    assert chain.w3.eth.get_balance(to_checksum_address(sub.token)) == token_eth
    assert chain.token_balance("USDC", sub.payee) == 0
    # Only the value made the difference: the same redemption with value 0 goes through.
    _redeem(chain, _redemption(sub))
    assert chain.token_balance("USDC", sub.payee) == AMOUNT


def test_value_riding_along_is_refused_by_value_lte_when_included(chain: Devnet) -> None:
    sub = _subscribe(chain, include_value_lte=True)
    assert len(sub.delegation.caveats) == 4

    reason = _refused(chain, sub, _redemption(sub, value=1))

    assert (reason.code, reason.name) == ("invalid_permission", "ValueLteEnforcer:value-too-high")
    _redeem(chain, _redemption(sub))
    assert chain.token_balance("USDC", sub.payee) == AMOUNT
