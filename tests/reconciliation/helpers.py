"""A charged subscription on anvil, and reading what reconciliation recorded."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import httpx
from eth_account.signers.local import LocalAccount
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from cyphera.chain.devnet.helpers import fee_fields, transact
from cyphera.chain.models import Network
from cyphera.chain.rpc import ChainRpc
from cyphera.delegation import (
    ROOT_AUTHORITY,
    SINGLE_DEFAULT_MODE,
    Delegation,
    encode_erc20_transfer,
    encode_permission_context,
    encode_redeem_delegations,
    encode_single_execution,
    sign_delegation,
)
from cyphera.models import ChainCursor, Event, Payment, ReconciliationFinding
from cyphera.reconciliation.onchain import address_topic
from cyphera.reconciliation.service import CURSOR_PREFIX, EVENT, Report, reconcile
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import Platform, customer_account, subscribe

TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")


@dataclass(frozen=True)
class Charged:
    customer: LocalAccount
    merchant: str
    payment: Payment


async def charged(platform: Platform, workspace: WorkspaceKeys) -> Charged:
    """A 7702 customer subscribed through the API; the first period charged on anvil."""
    customer = customer_account(platform.chain)
    merchant = platform.chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        await subscribe(api, customer, merchant)
    async with platform.sessionmaker() as db:
        [payment] = (await db.scalars(select(Payment))).all()
    assert payment.status.value == "succeeded"
    return Charged(customer, merchant, payment)


def local(platform: Platform, confirmations: int = 1) -> Network:
    return dataclasses.replace(platform.registry.get("local"), confirmations=confirmations)


async def reconcile_all_blocks(platform: Platform, network: Network | None = None) -> Report:
    """An operator's reconciliation of the whole local chain up to its safe head."""
    return await reconcile(
        platform.sessionmaker,
        ChainRpc(platform.registry),
        network or local(platform),
        from_block=0,
        to_block=None,
        clock=platform.clock,
    )


def pay_by_hand(platform: Platform, customer: LocalAccount, merchant: str, amount: int) -> str:
    """The customer's own ERC-20 transfer to the merchant (no delegation): its transaction."""
    token = platform.chain.network.token("USDC").address
    data = TRANSFER_SELECTOR + address_topic(merchant) + amount.to_bytes(32, "big")
    receipt = transact(platform.chain.w3, customer, token, data)
    return "0x" + bytes(receipt["transactionHash"]).hex()


def another_app_pays(platform: Platform, customer: LocalAccount, merchant: str, amount: int) -> str:
    """Another app's redemption through the same DelegationManager: the customer delegates to
    that app's account, which redeems a transfer to the merchant. Returns the transaction."""
    chain = platform.chain
    manager = chain.deployment.framework.delegation_manager
    app = chain.new_account(ether=1)
    delegation = sign_delegation(
        Delegation(
            delegate=app.address,
            delegator=customer.address,
            authority=ROOT_AUTHORITY,
            caveats=[],
            salt=7,
        ),
        customer.key,
        chain_id=chain.w3.eth.chain_id,
        delegation_manager=manager,
    )
    token = chain.network.token("USDC").address
    execution = encode_single_execution(token, 0, encode_erc20_transfer(merchant, amount))
    calldata = encode_redeem_delegations(
        [encode_permission_context([delegation])], [SINGLE_DEFAULT_MODE], [execution]
    )
    receipt = transact(chain.w3, app, manager, calldata)
    return "0x" + bytes(receipt["transactionHash"]).hex()


def reverted_transfer(platform: Platform, sender: LocalAccount, to: str) -> str:
    """A token transfer of more than `sender` holds, mined anyway (it reverts): its hash."""
    w3 = platform.chain.w3
    token = platform.chain.network.token("USDC").address
    balance = platform.chain.token_balance("USDC", sender.address)
    signed = sender.sign_transaction(
        {
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
            "to": token,
            "data": TRANSFER_SELECTOR + address_topic(to) + (balance + 1).to_bytes(32, "big"),
            "value": 0,
            "gas": 100_000,  # fixed, so it is mined instead of refused at estimation
            **fee_fields(w3),
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 0
    return "0x" + bytes(receipt["transactionHash"]).hex()


async def findings(platform: Platform) -> list[ReconciliationFinding]:
    async with platform.sessionmaker() as db:
        found = await db.scalars(select(ReconciliationFinding).order_by(ReconciliationFinding.id))
        return list(found.all())


async def mismatch_events(platform: Platform) -> list[Event]:
    async with platform.sessionmaker() as db:
        return list((await db.scalars(select(Event).where(Event.type == EVENT))).all())


async def count_findings(platform: Platform) -> int:
    async with platform.sessionmaker() as db:
        count = await db.scalar(select(func.count()).select_from(ReconciliationFinding))
        return int(count or 0)


async def cursor_block(platform: Platform) -> int | None:
    async with platform.sessionmaker() as db:
        cursor = await db.get(ChainCursor, CURSOR_PREFIX + "local")
        return None if cursor is None else cursor.last_block


def counted(kind: str) -> float:
    value = REGISTRY.get_sample_value(
        "cyphera_reconciliation_findings_total", {"network": "local", "kind": kind}
    )
    return value or 0.0
