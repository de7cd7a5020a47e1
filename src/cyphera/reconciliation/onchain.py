"""Reading the transfers made through our delegations from a chain.

**The rule for "through our delegations".** A ``Transfer(from, to, value)`` log of a token counts
when the same transaction carries a ``RedeemedDelegation(rootDelegator, redeemer, …)`` log of the
network's DelegationManager whose ``redeemer`` is one of our redeemers and whose
``rootDelegator`` is the transfer's ``from``. Our redeemers are the delegates of our permissions
on that chain (checkout only accepts a delegation whose leaf delegate is the signer's relayer, so
every relayer address we ever used is there). The manager emits that log only inside
``redeemDelegations`` and only for the caller the leaf delegation names, so it proves that *our*
key redeemed a delegation of *that* customer in that transaction: exactly the transfers our books
must account for, batched or not, whether or not the permission is still in our database.
Rejected alternatives: "the transaction was sent to the DelegationManager" also takes in every
other app's redemptions on that shared contract and misses a redemption relayed through another
contract; "the sender is one of our customers" takes in a customer's own transfer to a merchant
(paid by hand, not through us).

Reads, per range: the manager's ``RedeemedDelegation`` logs filtered on our redeemers (none: no
transfer of ours, nothing else is read), then each token's ``Transfer`` logs filtered on the
recipients we may pay (payout addresses and permissions' payees, in groups of
`ADDRESSES_PER_FILTER`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from cyphera.chain.models import Network
from cyphera.chain.rpc import ChainLog, ChainRpc
from cyphera.delegation.errors import DelegationError
from cyphera.delegation.events import (
    REDEEMED_DELEGATION_TOPIC,
    decode_redeemed_delegation,
    event_topic,
)
from cyphera.reconciliation.compare import Transfer

TRANSFER_TOPIC = event_topic("Transfer(address,address,uint256)")
ADDRESSES_PER_FILTER = 100


def address_topic(address: str) -> bytes:
    """An address as an indexed event topic (left-padded to 32 bytes)."""
    return bytes(12) + bytes.fromhex(address.removeprefix("0x"))


def decode_transfer(entry: ChainLog) -> Transfer | None:
    """The ERC-20 ``Transfer`` in `entry`, or None for any other (or reorged) log."""
    if (
        entry.removed
        or len(entry.topics) != 3
        or entry.topics[0] != TRANSFER_TOPIC
        or len(entry.data) != 32
    ):
        return None
    return Transfer(
        tx_hash=entry.transaction_hash.lower(),
        log_index=entry.log_index,
        block_number=entry.block_number,
        token=entry.address.lower(),
        sender="0x" + entry.topics[1][12:].hex(),
        recipient="0x" + entry.topics[2][12:].hex(),
        amount=int.from_bytes(entry.data, "big"),
    )


def redemptions(
    logs: Iterable[ChainLog], *, manager: str, redeemers: Collection[str]
) -> set[tuple[str, str]]:
    """(transaction, root delegator) of each ``RedeemedDelegation`` by one of `redeemers` (lower
    case) in `logs` of `manager`."""
    found: set[tuple[str, str]] = set()
    for entry in logs:
        if entry.removed or entry.address.lower() != manager.lower():
            continue
        try:
            redeemed = decode_redeemed_delegation(entry.topics)
        except DelegationError:
            continue
        if redeemed.redeemer.lower() in redeemers:
            found.add((entry.transaction_hash.lower(), redeemed.root_delegator.lower()))
    return found


def through(
    logs: Iterable[ChainLog],
    redeemed: set[tuple[str, str]],
    *,
    tokens: Collection[str],
    recipients: Collection[str],
) -> list[Transfer]:
    """The `tokens`' transfers to `recipients` in `logs` made through our delegations."""
    found = []
    for entry in logs:
        transfer = decode_transfer(entry)
        if (
            transfer is not None
            and transfer.token in tokens
            and transfer.recipient in recipients
            and (transfer.tx_hash, transfer.sender) in redeemed
        ):
            found.append(transfer)
    return found


async def transfers_through(
    rpc: ChainRpc,
    network: Network,
    *,
    from_block: int,
    to_block: int,
    tokens: Collection[str],
    recipients: Collection[str],
    redeemers: Collection[str],
) -> list[Transfer]:
    """Every transfer of `tokens` to `recipients` in blocks `from_block`..`to_block` made through
    our delegations (all arguments lower case; see the module docstring)."""
    if not (tokens and recipients and redeemers):
        return []
    manager = network.framework.delegation_manager
    redeemed = redemptions(
        await rpc.get_logs(
            network.chain_id,
            address=manager,
            topics=[REDEEMED_DELEGATION_TOPIC, None, [address_topic(r) for r in sorted(redeemers)]],
            from_block=from_block,
            to_block=to_block,
        ),
        manager=manager,
        redeemers=redeemers,
    )
    if not redeemed:
        return []
    transfers: list[Transfer] = []
    for token in sorted(tokens):
        for group in _groups(sorted(recipients), ADDRESSES_PER_FILTER):
            logs = await rpc.get_logs(
                network.chain_id,
                address=token,
                topics=[TRANSFER_TOPIC, None, [address_topic(a) for a in group]],
                from_block=from_block,
                to_block=to_block,
            )
            transfers += through(logs, redeemed, tokens=tokens, recipients=recipients)
    return transfers


def _groups(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
