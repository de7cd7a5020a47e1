"""Matching the chain's transfers with our payments: pure, so every rule is plain to test.

A transfer and a payment are the same money when they share the transaction and agree on token,
payer (the permission's account), payee and amount. Within one transaction (the signer batches
many customers into one ``redeemDelegations``) exact matches are taken first, so a payment never
takes another's transfer; what is left pairs up on token, payer and payee as an
``amount_mismatch``. A transfer still left may be the charge of a payment in flight whose
transaction our books do not know yet (same token, payer, payee and amount); the others are
``unrecorded_transfer``. A payment recorded as
succeeded that found no transfer here is returned as *unresolved*: its receipt decides
(`cyphera.reconciliation.service`). Payments still in flight claim nothing yet, and a payment
recorded as failed never accounts for a transfer (money moved that our books say did not).

Addresses and hashes are compared in lower case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cyphera.models.mixins import Mode
from cyphera.models.payment import IN_FLIGHT, PaymentStatus
from cyphera.models.reconciliation_finding import FindingKind


@dataclass(frozen=True, slots=True)
class Transfer:
    """One ERC-20 ``Transfer`` log made through our delegations (addresses lower case)."""

    tx_hash: str
    log_index: int
    block_number: int
    token: str
    sender: str
    recipient: str
    amount: int

    @property
    def key(self) -> tuple[str, int]:
        return self.tx_hash, self.log_index


@dataclass(frozen=True, slots=True)
class Booked:
    """What our books say one payment moved (addresses and hash lower case)."""

    payment_id: str
    invoice_id: str
    workspace_id: str
    mode: Mode
    status: PaymentStatus
    tx_hash: str | None
    block_number: int | None
    token: str
    payer: str
    payee: str
    amount: int

    def same_parties(self, transfer: Transfer) -> bool:
        return (transfer.token, transfer.sender, transfer.recipient) == (
            self.token,
            self.payer,
            self.payee,
        )


@dataclass(frozen=True, slots=True)
class Difference:
    kind: FindingKind
    detail: str
    transfer: Transfer | None = None
    booked: Booked | None = None


@dataclass(slots=True)
class Comparison:
    matched: list[tuple[Booked, Transfer]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    # Succeeded payments with no transfer among those compared: their receipts decide.
    unresolved: list[Booked] = field(default_factory=list)


def compare(transfers: Iterable[Transfer], books: Sequence[Booked]) -> Comparison:
    """Pair `transfers` with the payments of `books` (see the module docstring)."""
    by_tx: dict[str, list[Transfer]] = defaultdict(list)
    for transfer in sorted(transfers, key=lambda t: t.key):
        by_tx[transfer.tx_hash].append(transfer)
    taken: set[tuple[str, int]] = set()
    result = Comparison()
    claiming = sorted(
        (b for b in books if b.status is not PaymentStatus.FAILED), key=lambda b: b.payment_id
    )

    def free(booked: Booked) -> list[Transfer]:
        return [
            t
            for t in by_tx.get(booked.tx_hash or "", [])
            if t.key not in taken and booked.same_parties(t)
        ]

    unmatched: list[Booked] = []
    for booked in claiming:
        exact = next((t for t in free(booked) if t.amount == booked.amount), None)
        if exact is None:
            unmatched.append(booked)
            continue
        taken.add(exact.key)
        result.matched.append((booked, exact))
    for booked in unmatched:
        near = next(iter(free(booked)), None)
        if near is not None:
            taken.add(near.key)
            result.differences.append(amount_mismatch(booked, near))
        elif booked.status not in IN_FLIGHT:
            result.unresolved.append(booked)
    # A charge broadcast whose outcome the billing side has not heard yet (the signer's answer
    # was lost; the collection job's retry will record it): its payment is in flight with no
    # transaction, and only token, parties and amount can pair it with its transfer.
    unsent = [b for b in claiming if b.tx_hash is None and b.status in IN_FLIGHT]
    failed = [b for b in books if b.status is PaymentStatus.FAILED]
    for transfers_of_tx in by_tx.values():
        for transfer in transfers_of_tx:
            if transfer.key in taken:
                continue
            waiting = next(
                (b for b in unsent if b.same_parties(transfer) and b.amount == transfer.amount),
                None,
            )
            if waiting is None:
                result.differences.append(unrecorded(transfer, failed))
                continue
            unsent.remove(waiting)
            taken.add(transfer.key)
            result.matched.append((waiting, transfer))
    return result


def amount_mismatch(booked: Booked, transfer: Transfer) -> Difference:
    return Difference(
        FindingKind.AMOUNT_MISMATCH,
        f"payment {booked.payment_id} records {booked.amount} but its transfer moved "
        f"{transfer.amount}",
        transfer=transfer,
        booked=booked,
    )


def unrecorded(transfer: Transfer, failed: Iterable[Booked] = ()) -> Difference:
    """A transfer no payment accounts for; names a payment recorded failed for it, if any."""
    claimed = next(
        (b for b in failed if b.tx_hash == transfer.tx_hash and b.same_parties(transfer)), None
    )
    detail = (
        f"payment {claimed.payment_id} is recorded as failed, but its transaction moved "
        f"{transfer.amount}"
        if claimed
        else f"no payment records this transfer of {transfer.amount}"
    )
    return Difference(FindingKind.UNRECORDED_TRANSFER, detail, transfer=transfer, booked=claimed)


def missing(booked: Booked, why: str) -> Difference:
    return Difference(
        FindingKind.MISSING_TRANSFER,
        f"payment {booked.payment_id} is recorded as succeeded, but {why}",
        booked=booked,
    )


def fingerprint(difference: Difference) -> str:
    """What makes two findings the same difference: kind, transfer (transaction and log index)
    for transfers, payment for payments."""
    transfer = difference.transfer
    booked = difference.booked
    parts: list[str] = [difference.kind.value]
    if difference.kind is not FindingKind.MISSING_TRANSFER and transfer is not None:
        parts += [transfer.tx_hash, str(transfer.log_index)]
    if difference.kind is not FindingKind.UNRECORDED_TRANSFER and booked is not None:
        parts.append(booked.payment_id)
    return ":".join(parts)
