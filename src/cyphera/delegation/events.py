"""The manager's events the platform follows, and decoding their logs.

``DisabledDelegation(bytes32 indexed delegationHash, address indexed delegator,
address indexed delegate, Delegation delegation)`` is emitted by
``DelegationManager.disableDelegation``: the delegator's own account disabled the delegation with
that hash (the hash `disabledDelegations` is keyed by). Every field we need is indexed, so a log is
read from its topics alone; the delegation in its data is not needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak

from cyphera.delegation._values import checksum
from cyphera.delegation.encoding import DELEGATION_ABI
from cyphera.delegation.errors import EncodingError


def event_topic(signature: str) -> bytes:
    """The topic 0 of a canonical Solidity event signature."""
    return keccak(text=signature)


DISABLED_DELEGATION_TOPIC = event_topic(
    f"DisabledDelegation(bytes32,address,address,{DELEGATION_ABI})"
)


@dataclass(frozen=True, slots=True)
class DisabledDelegation:
    delegation_hash: bytes
    delegator: str
    delegate: str


def decode_disabled_delegation(topics: Sequence[bytes]) -> DisabledDelegation:
    """A ``DisabledDelegation`` log's indexed fields, from its topics."""
    if len(topics) != 4 or topics[0] != DISABLED_DELEGATION_TOPIC:
        raise EncodingError("not a DisabledDelegation log")
    if any(len(topic) != 32 for topic in topics):
        raise EncodingError("a DisabledDelegation topic is not 32 bytes")
    return DisabledDelegation(
        delegation_hash=bytes(topics[1]),
        delegator=checksum("0x" + topics[2][12:].hex()),
        delegate=checksum("0x" + topics[3][12:].hex()),
    )
