"""Reconciliation on anvil with the real framework and signer: the books against the chain.

A real charge (checkout through the API, redeemed by the real gRPC signer) reconciles clean; a
customer's own transfer to the merchant is not ours to reconcile; each difference — a transfer
our books do not hold, a succeeded payment whose transfer is not on chain, an amount that differs
— is recorded once with its event, counter and log line, and the payments are left as they were;
the periodic job waits for the confirmation depth and goes on from its cursor.

Fixtures: ``tests/fixtures/platform.py``.
"""

from __future__ import annotations

from sqlalchemy import delete, update

from cyphera.chain.rpc import ChainRpc
from cyphera.db.engine import transaction
from cyphera.kit.ids import new_id
from cyphera.models import Payment
from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus
from cyphera.models.reconciliation_finding import FindingKind
from cyphera.reconciliation import service as reconciliation
from cyphera.reconciliation.service import reconcile_network
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, Platform, run_worker_once
from tests.reconciliation.helpers import (
    another_app_pays,
    charged,
    count_findings,
    counted,
    cursor_block,
    findings,
    local,
    mismatch_events,
    pay_by_hand,
    reconcile_all_blocks,
    reverted_transfer,
)


async def test_a_clean_charge_reconciles_and_other_payments_to_the_merchant_are_not_ours(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    # Given a charged subscription; the customer also pays the merchant by hand, and through
    # another app's delegation on the same DelegationManager
    given = await charged(platform, workspace)
    pay_by_hand(platform, given.customer, given.merchant, 5)
    before = platform.chain.token_balance("USDC", given.merchant)
    another_app_pays(platform, given.customer, given.merchant, 7)
    assert platform.chain.token_balance("USDC", given.merchant) == before + 7

    # When the whole chain is reconciled
    report = await reconcile_all_blocks(platform)

    # Then the one transfer through our delegation matches its payment, and nothing is found
    assert (report.transfers, report.payments, report.matched) == (1, 1, 1)
    assert report.findings == []
    assert report.to_block == platform.chain.w3.eth.block_number
    assert await count_findings(platform) == 0

    # And the worker's periodic task runs it too, from the first payment's block
    await run_worker_once(platform, reconciliation.TASK)
    assert await cursor_block(platform) == platform.chain.w3.eth.block_number
    assert await count_findings(platform) == 0


async def test_a_transfer_we_did_not_record_is_found_once(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    # Given a real charge whose payment row is lost
    given = await charged(platform, workspace)
    async with transaction(platform.sessionmaker) as db:
        await db.execute(delete(Payment).where(Payment.id == given.payment.id))
    before = counted("unrecorded_transfer")

    # When the chain is reconciled twice
    first = await reconcile_all_blocks(platform)
    second = await reconcile_all_blocks(platform)

    # Then the transfer is one finding, with the workspace told once and counted once
    assert [(f.finding.kind, f.is_new) for f in first.findings] == [
        (FindingKind.UNRECORDED_TRANSFER, True)
    ]
    assert [(f.finding.kind, f.is_new) for f in second.findings] == [
        (FindingKind.UNRECORDED_TRANSFER, False)
    ]
    [finding] = await findings(platform)
    assert finding.tx_hash == given.payment.tx_hash
    assert finding.log_index is not None
    assert finding.block_number == given.payment.block_number
    assert finding.from_address == given.customer.address
    assert finding.to_address == given.merchant
    assert (finding.amount_expected, finding.amount_seen) == (None, PRICE_UNITS)
    assert finding.payment_id is None
    assert (finding.workspace_id, finding.mode) == (workspace.workspace_id, Mode.TEST)
    assert finding.times_seen == 2
    assert finding.first_seen_at == finding.last_seen_at == platform.clock.now()
    [event] = await mismatch_events(platform)
    assert event.object_id == finding.id
    assert event.data["kind"] == "unrecorded_transfer"
    assert event.data["amount_seen"] == str(PRICE_UNITS)
    assert counted("unrecorded_transfer") == before + 1


async def test_succeeded_payments_without_a_transfer_of_their_own_are_missing(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    # Given a real charge, and more payments of its invoice recorded as succeeded in its block:
    # with a transaction that never existed, one that moved nothing through our delegations, one
    # that reverted, and the real charge's own transaction (one transfer recorded twice)
    given = await charged(platform, workspace)
    real = given.payment
    assert real.tx_hash is not None
    paid_by_hand_tx = pay_by_hand(platform, given.customer, given.merchant, 5)
    reverted = reverted_transfer(platform, given.customer, given.merchant)
    never_sent = "0x" + "ab" * 32
    ghosts = {
        never_sent: new_id("pay"),
        paid_by_hand_tx: new_id("pay"),
        reverted: new_id("pay"),
        real.tx_hash: "pay_dup",
    }
    async with transaction(platform.sessionmaker) as db:
        for tx_hash, payment_id in ghosts.items():
            db.add(
                Payment(
                    id=payment_id,
                    workspace_id=real.workspace_id,
                    mode=real.mode,
                    invoice_id=real.invoice_id,
                    customer_id=real.customer_id,
                    permission_id=real.permission_id,
                    status=PaymentStatus.SUCCEEDED,
                    amount_cents=real.amount_cents,
                    amount=real.amount,
                    network=real.network,
                    chain_id=real.chain_id,
                    token_address=real.token_address,
                    payee=real.payee,
                    tx_hash=tx_hash,
                    block_number=real.block_number,
                )
            )

    # When the chain is reconciled
    report = await reconcile_all_blocks(platform)

    # Then one payment of the real transfer matches and every other is missing, saying why;
    # nothing is changed
    assert report.matched == 1
    missing = {f.finding.payment_id: f.finding for f in report.findings}
    assert {f.kind for f in missing.values()} == {FindingKind.MISSING_TRANSFER}
    assert "is not on chain" in missing[ghosts[never_sent]].detail
    assert "moved no" in missing[ghosts[paid_by_hand_tx]].detail
    assert missing[ghosts[reverted]].detail.endswith(f"transaction {reverted} reverted")
    [twice] = set(missing) & {real.id, "pay_dup"}
    assert "already accounted for by another payment" in missing[twice].detail
    assert len(missing) == 4
    assert missing[ghosts[never_sent]].amount_expected == PRICE_UNITS
    assert missing[ghosts[never_sent]].invoice_id == real.invoice_id
    async with platform.sessionmaker() as db:
        for payment_id in ghosts.values():
            assert (await db.get_one(Payment, payment_id)).status is PaymentStatus.SUCCEEDED
    assert len(await mismatch_events(platform)) == 4


async def test_an_amount_that_differs_is_a_mismatch(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    # Given a charge whose recorded amount is one unit more than what moved
    given = await charged(platform, workspace)
    async with transaction(platform.sessionmaker) as db:
        await db.execute(
            update(Payment).where(Payment.id == given.payment.id).values(amount=PRICE_UNITS + 1)
        )

    # When the chain is reconciled
    report = await reconcile_all_blocks(platform)

    # Then that is one amount mismatch naming the payment, its invoice and both amounts
    assert report.matched == 0
    [found] = report.findings
    finding = found.finding
    assert finding.kind is FindingKind.AMOUNT_MISMATCH
    assert (finding.payment_id, finding.invoice_id) == (given.payment.id, given.payment.invoice_id)
    assert (finding.amount_expected, finding.amount_seen) == (PRICE_UNITS + 1, PRICE_UNITS)
    assert finding.tx_hash == given.payment.tx_hash
    async with platform.sessionmaker() as db:
        assert (await db.get_one(Payment, given.payment.id)).amount == PRICE_UNITS + 1


async def test_the_periodic_run_waits_for_the_confirmation_depth_and_keeps_its_cursor(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    rpc = ChainRpc(platform.registry)
    network = local(platform, confirmations=3)
    # Given a charge our books lost, in the newest block
    given = await charged(platform, workspace)
    block = given.payment.block_number
    assert block == platform.chain.w3.eth.block_number
    async with transaction(platform.sessionmaker) as db:
        await db.execute(delete(Payment).where(Payment.id == given.payment.id))

    # When the job runs while the charge is inside the confirmation depth
    waiting = await reconcile_network(platform.sessionmaker, rpc, network, clock=platform.clock)

    # Then it reads nothing and finds nothing yet
    assert waiting.to_block is None
    assert await cursor_block(platform) == block - 2
    assert await count_findings(platform) == 0

    # And once the block has its confirmations, the next run finds it and moves its cursor
    platform.chain.mine(2)
    found = await reconcile_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    assert (found.from_block, found.to_block) == (block - 1, block)
    assert [f.finding.kind for f in found.findings] == [FindingKind.UNRECORDED_TRANSFER]
    assert await cursor_block(platform) == block

    # And a run with no new block reads nothing again
    again = await reconcile_network(platform.sessionmaker, rpc, network, clock=platform.clock)
    assert again.to_block is None
    [finding] = await findings(platform)
    assert finding.times_seen == 1
