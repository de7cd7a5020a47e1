"""The manager's ``DisabledDelegation`` event: its topic is the ABI's, and a log's topics decode."""

from __future__ import annotations

import pytest
from eth_utils.abi import event_abi_to_log_topic

from cyphera.chain.artifacts import FrameworkArtifacts
from cyphera.delegation.errors import DelegationError
from cyphera.delegation.events import (
    DISABLED_DELEGATION_TOPIC,
    REDEEMED_DELEGATION_TOPIC,
    decode_disabled_delegation,
    decode_redeemed_delegation,
)

DELEGATOR = "0x1111111111111111111111111111111111111111"
DELEGATE = "0x000000000000000000000000000000000000dEaD"


def test_the_topic_is_the_managers_abi_event(framework_artifacts: FrameworkArtifacts) -> None:
    [event] = [
        item
        for item in framework_artifacts.abi("DelegationManager")
        if item.get("type") == "event" and item.get("name") == "DisabledDelegation"
    ]
    assert event_abi_to_log_topic(event) == DISABLED_DELEGATION_TOPIC  # type: ignore[arg-type]
    assert [i["indexed"] for i in event["inputs"]] == [True, True, True, False]


def test_a_logs_topics_decode_to_hash_delegator_and_delegate() -> None:
    topics = [
        DISABLED_DELEGATION_TOPIC,
        b"\x42" * 32,
        bytes(12) + bytes.fromhex(DELEGATOR[2:]),
        bytes(12) + bytes.fromhex(DELEGATE[2:]),
    ]
    decoded = decode_disabled_delegation(topics)
    assert decoded.delegation_hash == b"\x42" * 32
    assert decoded.delegator == DELEGATOR
    assert decoded.delegate == DELEGATE


@pytest.mark.parametrize(
    "topics",
    [[], [b"\x00" * 32, b"\x42" * 32, bytes(32), bytes(32)], [DISABLED_DELEGATION_TOPIC, b"\x42"]],
)
def test_other_logs_are_refused(topics: list[bytes]) -> None:
    with pytest.raises(DelegationError):
        decode_disabled_delegation(topics)


def test_the_redeemed_topic_is_the_managers_abi_event(
    framework_artifacts: FrameworkArtifacts,
) -> None:
    [event] = [
        item
        for item in framework_artifacts.abi("DelegationManager")
        if item.get("type") == "event" and item.get("name") == "RedeemedDelegation"
    ]
    assert event_abi_to_log_topic(event) == REDEEMED_DELEGATION_TOPIC  # type: ignore[arg-type]
    assert [i["indexed"] for i in event["inputs"]] == [True, True, False]


def test_a_redeemed_logs_topics_decode_to_root_delegator_and_redeemer() -> None:
    topics = [
        REDEEMED_DELEGATION_TOPIC,
        bytes(12) + bytes.fromhex(DELEGATOR[2:]),
        bytes(12) + bytes.fromhex(DELEGATE[2:]),
    ]
    decoded = decode_redeemed_delegation(topics)
    assert decoded.root_delegator == DELEGATOR
    assert decoded.redeemer == DELEGATE
    with pytest.raises(DelegationError):
        decode_redeemed_delegation([DISABLED_DELEGATION_TOPIC, *topics[1:]])
