"""`check_policy` on hand-built permission contexts (pure: no server, no transaction)."""

from __future__ import annotations

import pytest
from eth_account import Account

from cyphera.chain.devnet import Devnet
from cyphera.delegation import (
    ROOT_AUTHORITY,
    Caveat,
    Delegation,
    default_periodic_caveats,
    encode_permission_context,
    hash_delegation,
    terms,
)
from cyphera.signer.errors import PolicyRefusal
from cyphera.signer.policy import check_policy
from cyphera.signer.schemas import ChargeInput, FailureCode

RELAYER = Account.create().address
CUSTOMER = Account.create().address
PAYEE = Account.create().address
AMOUNT = 10 * 10**6


def _caveats(devnet: Devnet) -> list[Caveat]:
    return default_periodic_caveats(
        devnet.deployment.framework,
        token=devnet.network.token("USDC").address,
        period_amount=AMOUNT,
        period_duration=30 * 86_400,
        start_date=1,
        expiry=2**40,
        payee=PAYEE,
    )


def _charge(devnet: Devnet, delegations: list[Delegation], amount: int = AMOUNT) -> ChargeInput:
    return ChargeInput(
        idempotency_key="k",
        chain_id=31337,
        permission_context=encode_permission_context(delegations),
        token=devnet.network.token("USDC").address,
        payee=PAYEE,
        amount=amount,
    )


def _refusal(devnet: Devnet, delegations: list[Delegation]) -> FailureCode:
    with pytest.raises(PolicyRefusal) as raised:
        check_policy(_charge(devnet, delegations), network=devnet.network, relayer=RELAYER)
    return raised.value.code


def test_a_root_delegation_within_policy_is_accepted(devnet: Devnet) -> None:
    root = Delegation(RELAYER, CUSTOMER, ROOT_AUTHORITY, _caveats(devnet), salt=1)

    redemption = check_policy(_charge(devnet, [root]), network=devnet.network, relayer=RELAYER)

    assert redemption.delegator == CUSTOMER
    assert redemption.delegation_hash == hash_delegation(root)
    assert redemption.amount == AMOUNT
    assert redemption.expiry == 2**40
    assert redemption.delegations == (root,)


def test_a_two_level_chain_is_accepted_when_linked(devnet: Devnet) -> None:
    middle = Account.create().address
    root = Delegation(middle, CUSTOMER, ROOT_AUTHORITY, _caveats(devnet), salt=1)
    leaf = Delegation(RELAYER, middle, hash_delegation(root), [], salt=2)

    redemption = check_policy(
        _charge(devnet, [leaf, root]), network=devnet.network, relayer=RELAYER
    )

    assert redemption.delegator == CUSTOMER


def test_a_broken_authority_chain_is_an_invalid_permission(devnet: Devnet) -> None:
    middle = Account.create().address
    root = Delegation(middle, CUSTOMER, ROOT_AUTHORITY, _caveats(devnet), salt=1)
    leaf = Delegation(RELAYER, middle, b"\x01" * 32, [], salt=2)

    assert _refusal(devnet, [leaf, root]) is FailureCode.INVALID_PERMISSION


def test_a_chain_that_does_not_end_at_root_is_an_invalid_permission(devnet: Devnet) -> None:
    leaf = Delegation(RELAYER, CUSTOMER, b"\x02" * 32, _caveats(devnet), salt=1)

    assert _refusal(devnet, [leaf]) is FailureCode.INVALID_PERMISSION


def test_an_unknown_enforcer_is_an_invalid_permission(devnet: Devnet) -> None:
    rogue = Caveat(enforcer=Account.create().address, terms=b"")
    root = Delegation(RELAYER, CUSTOMER, ROOT_AUTHORITY, [*_caveats(devnet), rogue], salt=1)

    assert _refusal(devnet, [root]) is FailureCode.INVALID_PERMISSION


def test_a_permission_without_a_period_cap_is_refused(devnet: Devnet) -> None:
    caveats = [
        c
        for c in _caveats(devnet)
        if c.enforcer != devnet.deployment.framework.enforcer("ERC20PeriodTransferEnforcer")
    ]
    root = Delegation(RELAYER, CUSTOMER, ROOT_AUTHORITY, caveats, salt=1)

    assert _refusal(devnet, [root]) is FailureCode.POLICY_VIOLATION


def test_a_permission_without_a_payee_lock_is_refused(devnet: Devnet) -> None:
    caveats = [
        c
        for c in _caveats(devnet)
        if c.enforcer != devnet.deployment.framework.enforcer("AllowedCalldataEnforcer")
    ]
    root = Delegation(RELAYER, CUSTOMER, ROOT_AUTHORITY, caveats, salt=1)

    assert _refusal(devnet, [root]) is FailureCode.POLICY_VIOLATION


def test_two_payee_locks_naming_different_payees_are_refused(devnet: Devnet) -> None:
    other = Caveat(
        enforcer=devnet.deployment.framework.enforcer("AllowedCalldataEnforcer"),
        terms=terms.payee(Account.create().address),
    )
    root = Delegation(RELAYER, CUSTOMER, ROOT_AUTHORITY, [*_caveats(devnet), other], salt=1)

    assert _refusal(devnet, [root]) is FailureCode.POLICY_VIOLATION


def test_an_open_delegation_is_refused(devnet: Devnet) -> None:
    root = Delegation(
        "0x0000000000000000000000000000000000000a11",
        CUSTOMER,
        ROOT_AUTHORITY,
        _caveats(devnet),
        salt=1,
    )

    assert _refusal(devnet, [root]) is FailureCode.POLICY_VIOLATION
