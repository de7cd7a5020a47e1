"""The manager's events the platform follows, and decoding their logs.

``DisabledDelegation(bytes32 indexed delegationHash, address indexed delegator,
address indexed delegate, Delegation delegation)`` is emitted by
``DelegationManager.disableDelegation``: the delegator's own account disabled the delegation with
that hash (the hash `disabledDelegations` is keyed by). Every field we need is indexed, so a log is
read from its topics alone; the delegation in its data is not needed.

``RedeemedDelegation(address indexed rootDelegator, address indexed redeemer, Delegation
delegation)`` is emitted by ``DelegationManager.redeemDelegations`` for each redeemed permission
context: ``redeemer`` is the account that sent the redemption (the manager requires it to be the
leaf delegation's delegate) and ``rootDelegator`` the account whose delegation is the root, the one
whose funds the execution moves. Both are indexed; the delegation in its data is not needed.
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


REDEEMED_DELEGATION_TOPIC = event_topic(f"RedeemedDelegation(address,address,{DELEGATION_ABI})")


@dataclass(frozen=True, slots=True)
class DisabledDelegation:
    delegation_hash: bytes
    delegator: str
    delegate: str


def decode_disabled_delegation(topics: Sequence[bytes]) -> DisabledDelegation:
    """A ``DisabledDelegation`` log's indexed fields, from its topics."""
    _check_topics(topics, DISABLED_DELEGATION_TOPIC, 4, "DisabledDelegation")
    return DisabledDelegation(
        delegation_hash=bytes(topics[1]),
        delegator=checksum("0x" + topics[2][12:].hex()),
        delegate=checksum("0x" + topics[3][12:].hex()),
    )


@dataclass(frozen=True, slots=True)
class RedeemedDelegation:
    root_delegator: str
    redeemer: str


def decode_redeemed_delegation(topics: Sequence[bytes]) -> RedeemedDelegation:
    """A ``RedeemedDelegation`` log's indexed fields, from its topics."""
    _check_topics(topics, REDEEMED_DELEGATION_TOPIC, 3, "RedeemedDelegation")
    return RedeemedDelegation(
        root_delegator=checksum("0x" + topics[1][12:].hex()),
        redeemer=checksum("0x" + topics[2][12:].hex()),
    )


def _check_topics(topics: Sequence[bytes], topic0: bytes, count: int, name: str) -> None:
    if len(topics) != count or topics[0] != topic0:
        raise EncodingError(f"not a {name} log")
    if any(len(topic) != 32 for topic in topics):
        raise EncodingError(f"a {name} topic is not 32 bytes")
