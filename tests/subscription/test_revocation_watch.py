"""Revocations made outside Cyphera, followed from the chain, on anvil with the real framework.

The customer revokes with their own ``disableDelegation`` transaction, sent straight to the chain
(as any wallet or app would), never through our pages. The watch
(`cyphera.subscription.revocation_watch`) then reads the manager's ``DisabledDelegation`` logs up
to the safe head and records the revocation: the permission revoked as of the log's block, the
subscription canceled with ``permission_revoked``, one ``permission.revoked`` event, the cursor
advanced — once, whatever the number of runs. A revocation still inside the confirmation depth
waits; a delegation we do not hold is ignored; the real procrastinate worker runs it every
minute, and at the period's end attempts no charge for the revoked subscription.

Fixtures: ``tests/fixtures/platform.py``.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from web3 import Web3

from cyphera.chain.devnet import Devnet
from cyphera.chain.devnet.helpers import fee_fields
from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry
from cyphera.chain.rpc import ChainRpc
from cyphera.delegation.calls import encode_disable_delegation
from cyphera.delegation.structs import ROOT_AUTHORITY, Delegation
from cyphera.kit.clock import from_unix, to_unix
from cyphera.models import ChainCursor, Event, Invoice, Payment, Permission, Subscription
from cyphera.models.permission import PermissionStatus
from cyphera.permission.revocation import revocation_call
from cyphera.subscription import revocation_watch
from cyphera.subscription.revocation_watch import watch_all, watch_network
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import (
    PRICE_UNITS,
    Platform,
    customer_account,
    run_worker_once,
    subscribe,
)


def send_own(chain: Devnet, account: LocalAccount, *, to: str, data: bytes) -> dict[str, Any]:
    """`account` signs and sends its own transaction to anvil; returns the mined receipt."""
    w3 = chain.w3
    tx: dict[str, Any] = {
        "chainId": w3.eth.chain_id,
        "from": account.address,
        "to": Web3.to_checksum_address(to),
        "data": "0x" + data.hex(),
        "value": 0,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        **fee_fields(w3),
    }
    tx["gas"] = w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1
    return dict(receipt)


async def subscribed(platform: Platform, workspace: WorkspaceKeys) -> tuple[LocalAccount, str, str]:
    """A 7702 customer with a paid monthly subscription: (account, merchant payout, sub id)."""
    customer = customer_account(platform.chain)
    merchant = platform.chain.new_account(ether=0).address
    async with httpx.AsyncClient(base_url=platform.api_url, headers=workspace.headers) as api:
        completed = await subscribe(api, customer, merchant)
    return customer, merchant, str(completed["subscription"])


async def revoke_on_chain(platform: Platform, customer: LocalAccount, subscription_id: str) -> int:
    """The customer's own ``disableDelegation``, straight to the chain; returns its block."""
    async with platform.sessionmaker() as db:
        subscription = await db.get_one(Subscription, subscription_id)
        permission = await db.get_one(Permission, subscription.permission_id)
    call = revocation_call(permission)
    assert call.account == customer.address
    receipt = send_own(platform.chain, customer, to=call.to, data=call.data)
    return int(receipt["blockNumber"])


async def count_events(platform: Platform, kind: str) -> int:
    async with platform.sessionmaker() as db:
        return int(
            await db.scalar(select(func.count()).select_from(Event).where(Event.type == kind)) or 0
        )


async def cursor_block(platform: Platform, network: str = "local") -> int | None:
    async with platform.sessionmaker() as db:
        cursor = await db.get(ChainCursor, network)
        return None if cursor is None else cursor.last_block


def deeper(platform: Platform, confirmations: int) -> Network:
    """The local network as a chain needing `confirmations` blocks (anvil's own is 1)."""
    return dataclasses.replace(platform.registry.get("local"), confirmations=confirmations)


async def test_a_revocation_from_the_customers_own_wallet_ends_the_subscription_once(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    rpc = ChainRpc(platform.registry)
    network = deeper(platform, confirmations=3)
    customer, _, subscription_id = await subscribed(platform, workspace)
    # The first run starts at the safe head: nothing before it is scanned
    first = await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    head = platform.chain.w3.eth.block_number
    assert first.to_block is None
    assert await cursor_block(platform) == head - 2

    # When the customer revokes from their own wallet
    block = await revoke_on_chain(platform, customer, subscription_id)

    # Then while the revocation is inside the confirmation depth, nothing is applied
    waiting = await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    assert waiting.revoked == []
    assert await cursor_block(platform) == block - 2
    async with platform.sessionmaker() as db:
        subscription = await db.get_one(Subscription, subscription_id)
        assert subscription.status.value == "active"

    # And once it has its confirmations, it is recorded as of its block
    platform.chain.mine(2)
    applied = await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    assert applied.logs == 1
    assert applied.to_block == block
    assert await cursor_block(platform) == block
    block_time = from_unix(int(platform.chain.w3.eth.get_block(block)["timestamp"]))
    async with platform.sessionmaker() as db:
        subscription = await db.get_one(Subscription, subscription_id)
        permission = await db.get_one(Permission, subscription.permission_id)
        assert applied.revoked == [permission.id]
        assert permission.status is PermissionStatus.REVOKED
        assert permission.revoked_at == block_time
        assert subscription.status.value == "canceled"
        assert subscription.cancellation_reason == "permission_revoked"
    assert await count_events(platform, "permission.revoked") == 1
    canceled = await count_events(platform, "subscription.canceled")
    assert canceled == 1

    # And running again, or re-reading the same blocks, changes nothing
    platform.chain.mine(1)
    again = await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    assert again.revoked == []
    async with platform.sessionmaker() as db:
        cursor = await db.get_one(ChainCursor, "local")
        cursor.last_block = block - 1
        await db.commit()
    reread = await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    assert (reread.logs, reread.revoked) == (1, [])
    assert await count_events(platform, "permission.revoked") == 1
    assert await count_events(platform, "subscription.canceled") == canceled


async def test_a_disabled_delegation_we_do_not_hold_is_ignored(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    rpc = ChainRpc(platform.registry)
    network = platform.registry.get("local")
    _, _, subscription_id = await subscribed(platform, workspace)
    await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    # A stranger disables a delegation of their own, at the same manager
    stranger = platform.chain.new_account()
    theirs = Delegation(
        delegate=platform.chain.new_account(ether=0).address,
        delegator=stranger.address,
        authority=ROOT_AUTHORITY,
        caveats=(),
        salt=7,
    )
    block = int(
        send_own(
            platform.chain,
            stranger,
            to=network.framework.delegation_manager,
            data=encode_disable_delegation(theirs),
        )["blockNumber"]
    )

    result = await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)

    assert (result.logs, result.revoked, result.to_block) == (1, [], block)
    assert await count_events(platform, "permission.revoked") == 0
    async with platform.sessionmaker() as db:
        assert (await db.get_one(Subscription, subscription_id)).status.value == "active"


async def test_a_network_that_fails_does_not_stop_the_others(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    customer, _, subscription_id = await subscribed(platform, workspace)
    await watch_all(platform.sessionmaker, platform.registry, clock=platform.clock)
    await revoke_on_chain(platform, customer, subscription_id)
    # Given a second network whose only endpoint answers nothing
    broken = dataclasses.replace(
        platform.registry.get("sepolia"), rpc_urls=("http://127.0.0.1:9/",)
    )
    registry = NetworkRegistry([broken, platform.registry.get("local")])

    results = await watch_all(platform.sessionmaker, registry, clock=platform.clock)

    assert [r.network for r in results] == ["local"]
    assert len(results[0].revoked) == 1
    assert await cursor_block(platform, "sepolia") is None


async def test_the_worker_follows_revocations_and_charges_nothing_at_the_period_end(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    customer, merchant, subscription_id = await subscribed(platform, workspace)
    await run_worker_once(platform, revocation_watch.TASK)
    assert await cursor_block(platform) is not None
    await revoke_on_chain(platform, customer, subscription_id)

    started = time.perf_counter()
    await run_worker_once(platform, revocation_watch.TASK)
    elapsed = time.perf_counter() - started

    async with platform.sessionmaker() as db:
        subscription = await db.get_one(Subscription, subscription_id)
        assert subscription.status.value == "canceled"
        assert subscription.cancellation_reason == "permission_revoked"
        period_end = subscription.current_period_end
    assert await count_events(platform, "permission.revoked") == 1
    assert elapsed < 30

    # And when the period ends and the worker runs, nothing is attempted for it
    assert platform.chain.token_balance("USDC", merchant) == PRICE_UNITS
    async with platform.sessionmaker() as db:
        payments_before = await db.scalar(select(func.count()).select_from(Payment))
    platform.clock.set(period_end + timedelta(seconds=5))
    platform.chain.set_next_block_timestamp(to_unix(period_end) + 5)
    await run_worker_once(platform)
    async with platform.sessionmaker() as db:
        mine = select(Invoice).where(Invoice.subscription_id == subscription_id)
        assert len((await db.scalars(mine)).all()) == 1
        assert await db.scalar(select(func.count()).select_from(Payment)) == payments_before
    assert platform.chain.token_balance("USDC", merchant) == PRICE_UNITS
    assert await count_events(platform, "permission.revoked") == 1


async def test_a_revocation_reorged_away_inside_the_depth_is_never_applied(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    rpc = ChainRpc(platform.registry)
    network = deeper(platform, confirmations=3)
    customer, _, subscription_id = await subscribed(platform, workspace)
    await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    block = await revoke_on_chain(platform, customer, subscription_id)
    await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)

    # The block holding it is replaced by one without it before it had its confirmations
    platform.chain.w3.provider.make_request("anvil_reorg", [1, []])  # type: ignore[arg-type]
    platform.chain.mine(3)
    assert platform.chain.w3.eth.get_block(block)["transactions"] == []
    result = await watch_network(platform.sessionmaker, rpc, network, clock=platform.clock)

    assert result.to_block is not None
    assert result.to_block > block
    assert (result.logs, result.revoked) == (0, [])
    async with platform.sessionmaker() as db:
        assert (await db.get_one(Subscription, subscription_id)).status.value == "active"
