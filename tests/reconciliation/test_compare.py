"""Matching transfers with payments, rule by rule (pure: no database, no chain)."""

from __future__ import annotations

import dataclasses

from cyphera.models.mixins import Mode
from cyphera.models.payment import PaymentStatus
from cyphera.models.reconciliation_finding import FindingKind
from cyphera.reconciliation.compare import Booked, Transfer, compare, fingerprint, missing

TX = "0x" + "aa" * 32
TOKEN = "0x" + "11" * 20
MERCHANT = "0x" + "22" * 20
ALICE = "0x" + "33" * 20
BOB = "0x" + "44" * 20


def transfer(log_index: int, sender: str = ALICE, amount: int = 100) -> Transfer:
    return Transfer(TX, log_index, 7, TOKEN, sender, MERCHANT, amount)


def booked(
    payment_id: str,
    payer: str = ALICE,
    amount: int = 100,
    status: PaymentStatus = PaymentStatus.SUCCEEDED,
) -> Booked:
    return Booked(
        payment_id, "inv_1", "ws_1", Mode.TEST, status, TX, 7, TOKEN, payer, MERCHANT, amount
    )


def test_a_batch_pairs_each_payment_with_its_own_transfer_before_any_near_match() -> None:
    # Given one transaction charging Alice twice (100 and 250) and Bob once
    transfers = [transfer(1, amount=250), transfer(2, amount=100), transfer(3, sender=BOB)]
    books = [booked("pay_a", amount=100), booked("pay_b", amount=250), booked("pay_c", BOB)]

    result = compare(transfers, books)

    # Then every payment takes the transfer of its own amount, none is left over
    assert sorted((b.payment_id, t.log_index) for b, t in result.matched) == [
        ("pay_a", 2),
        ("pay_b", 1),
        ("pay_c", 3),
    ]
    assert result.differences == []
    assert result.unresolved == []


def test_left_over_transfers_and_payments_are_differences() -> None:
    transfers = [transfer(1, amount=90), transfer(2, sender=BOB)]
    books = [booked("pay_a", amount=100), booked("pay_z", payer="0x" + "55" * 20)]

    result = compare(transfers, books)

    assert result.matched == []
    assert [(d.kind, d.booked and d.booked.payment_id) for d in result.differences] == [
        (FindingKind.AMOUNT_MISMATCH, "pay_a"),
        (FindingKind.UNRECORDED_TRANSFER, None),
    ]
    # The payment with no transfer here is for its receipt to settle
    assert [b.payment_id for b in result.unresolved] == ["pay_z"]


def test_a_failed_payment_never_accounts_for_money_that_moved() -> None:
    result = compare([transfer(1)], [booked("pay_f", status=PaymentStatus.FAILED)])

    [difference] = result.differences
    assert difference.kind is FindingKind.UNRECORDED_TRANSFER
    assert difference.booked is not None
    assert difference.booked.payment_id == "pay_f"
    assert "recorded as failed" in difference.detail


def test_an_in_flight_payment_matches_its_transfer_and_claims_nothing_without_one() -> None:
    submitted = booked("pay_s", status=PaymentStatus.SUBMITTED)
    assert len(compare([transfer(1)], [submitted]).matched) == 1
    # Without its transfer it is not yet a claim: no difference, nothing to settle
    waiting = compare([], [submitted])
    assert (waiting.differences, waiting.unresolved) == ([], [])


def test_a_charge_whose_transaction_the_books_do_not_know_yet_pairs_on_parties_and_amount() -> None:
    # Given a payment in flight with no transaction recorded (the signer's answer was lost)
    unsent = dataclasses.replace(booked("pay_p", status=PaymentStatus.PENDING), tx_hash=None)

    # Then its transfer is its own, but one of another amount or payer is not
    assert [b.payment_id for b, _ in compare([transfer(1)], [unsent]).matched] == ["pay_p"]
    other = compare([transfer(1, amount=99), transfer(2, sender=BOB)], [unsent])
    assert other.matched == []
    assert [d.kind for d in other.differences] == [FindingKind.UNRECORDED_TRANSFER] * 2


def test_the_fingerprint_names_the_transfer_for_transfers_and_the_payment_for_payments() -> None:
    result = compare([transfer(4, amount=1)], [booked("pay_a")])
    [mismatch] = result.differences
    assert fingerprint(mismatch) == f"amount_mismatch:{TX}:4:pay_a"
    unrecorded = compare([transfer(5)], []).differences[0]
    assert fingerprint(unrecorded) == f"unrecorded_transfer:{TX}:5"
    assert fingerprint(missing(booked("pay_m"), "it reverted")) == "missing_transfer:pay_m"
