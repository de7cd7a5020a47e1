"""Byte-for-byte conformance with MetaMask's `@metamask/delegation-core@3.0.0`.

Each hypothesis example is answered by the session's long-lived node child (see conftest).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from typing import Any

import pytest
from eth_abi.abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from cyphera.delegation import (
    ANY_DELEGATE,
    CAVEAT_TYPEHASH,
    DELEGATION_TYPEHASH,
    ROOT_AUTHORITY,
    Caveat,
    Delegation,
    TermsError,
    decode_permission_context,
    encode_permission_context,
    hash_delegation,
    terms,
)

from .conftest import REFERENCE_SCRIPT, REPO_ROOT, Reference, ReferenceFailed, big, to_js
from .strategies import (
    JS_MAX_TIMESTAMP,
    JS_SAFE_INT,
    UINT256_MAX,
    addresses,
    delegations,
    positive_uint256,
    uint256,
)

CONFORMANCE = settings(max_examples=120, deadline=None, database=None)


def _hex_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _js_delegation(delegation: Delegation) -> dict[str, Any]:
    return {
        "delegate": delegation.delegate,
        "delegator": delegation.delegator,
        "authority": delegation.authority,
        "caveats": [
            {"enforcer": c.enforcer, "terms": c.terms, "args": c.args} for c in delegation.caveats
        ],
        "salt": big(delegation.salt),
        "signature": delegation.signature,
    }


def _from_js_delegation(value: dict[str, Any]) -> Delegation:
    return Delegation(
        delegate=value["delegate"],
        delegator=value["delegator"],
        authority=_hex_bytes(value["authority"]),
        caveats=[
            Caveat(enforcer=c["enforcer"], terms=_hex_bytes(c["terms"]), args=_hex_bytes(c["args"]))
            for c in value["caveats"]
        ],
        salt=value["salt"],
        signature=_hex_bytes(value["signature"]),
    )


def test_constants_match_delegation_core(reference: Reference) -> None:
    constants = reference.call("constants")

    assert _hex_bytes(constants["ROOT_AUTHORITY"]) == ROOT_AUTHORITY
    assert constants["ANY_BENEFICIARY"] == ANY_DELEGATE
    assert _hex_bytes(constants["DELEGATION_TYPEHASH"]) == DELEGATION_TYPEHASH
    assert _hex_bytes(constants["CAVEAT_TYPEHASH"]) == CAVEAT_TYPEHASH


@CONFORMANCE
@given(delegation=delegations)
def test_delegation_hash_matches(reference: Reference, delegation: Delegation) -> None:
    expected = reference.call("hashDelegation", _js_delegation(delegation))

    assert hash_delegation(delegation) == _hex_bytes(expected)


@CONFORMANCE
@given(chain=st.lists(delegations, max_size=3))
def test_permission_context_matches_both_ways(
    reference: Reference, chain: list[Delegation]
) -> None:
    ours = encode_permission_context(chain)

    theirs = reference.call("encodeDelegations", [_js_delegation(d) for d in chain])
    decoded_by_js = reference.call("decodeDelegations", ours)

    assert ours == _hex_bytes(theirs)
    assert decode_permission_context(_hex_bytes(theirs)) == chain
    assert [_from_js_delegation(d) for d in decoded_by_js] == chain


# ---------------------------------------------------------------- terms builders and decoders


@CONFORMANCE
@given(
    token=addresses,
    amount=positive_uint256,
    duration=st.integers(1, JS_SAFE_INT),
    start=st.integers(1, JS_SAFE_INT),
)
def test_erc20_period_transfer_terms_match(
    reference: Reference, token: str, amount: int, duration: int, start: int
) -> None:
    ours = terms.erc20_period_transfer(token, amount, duration, start)

    theirs = reference.call(
        "createERC20TokenPeriodTransferTerms",
        {
            "tokenAddress": token,
            "periodAmount": big(amount),
            "periodDuration": duration,
            "startDate": start,
        },
    )
    decoded = reference.call("decodeERC20TokenPeriodTransferTerms", ours)

    assert ours == _hex_bytes(theirs)
    assert terms.decode_erc20_period_transfer(ours) == terms.ERC20PeriodTransferTerms(
        token=token, period_amount=amount, period_duration=duration, start_date=start
    )
    assert (decoded["tokenAddress"].lower(), decoded["periodAmount"]) == (token.lower(), amount)
    assert (decoded["periodDuration"], decoded["startDate"]) == (duration, start)


@CONFORMANCE
@given(token=addresses, maximum=positive_uint256)
def test_erc20_transfer_amount_terms_match(reference: Reference, token: str, maximum: int) -> None:
    ours = terms.erc20_transfer_amount(token, maximum)

    theirs = reference.call(
        "createERC20TransferAmountTerms", {"tokenAddress": token, "maxAmount": big(maximum)}
    )
    decoded = reference.call("decodeERC20TransferAmountTerms", ours)

    assert ours == _hex_bytes(theirs)
    assert (decoded["tokenAddress"].lower(), decoded["maxAmount"]) == (token.lower(), maximum)
    assert terms.decode_erc20_transfer_amount(ours) == terms.ERC20TransferAmountTerms(
        token, maximum
    )


@CONFORMANCE
@given(
    token=addresses,
    amounts=st.tuples(uint256, uint256).map(sorted).filter(lambda pair: pair[1] >= 1),
    per_second=positive_uint256,
    start=st.integers(1, JS_MAX_TIMESTAMP),
)
def test_erc20_streaming_terms_match(
    reference: Reference, token: str, amounts: list[int], per_second: int, start: int
) -> None:
    initial, maximum = amounts
    ours = terms.erc20_streaming(token, initial, maximum, per_second, start)

    theirs = reference.call(
        "createERC20StreamingTerms",
        {
            "tokenAddress": token,
            "initialAmount": big(initial),
            "maxAmount": big(maximum),
            "amountPerSecond": big(per_second),
            "startTime": start,
        },
    )

    assert ours == _hex_bytes(theirs)
    assert terms.decode_erc20_streaming(ours) == terms.ERC20StreamingTerms(
        token, initial, maximum, per_second, start
    )


_timestamps = st.one_of(
    st.tuples(st.integers(0, JS_MAX_TIMESTAMP), st.just(0)),
    st.tuples(st.integers(0, JS_MAX_TIMESTAMP - 1), st.integers(1, JS_MAX_TIMESTAMP)).filter(
        lambda pair: pair[0] < pair[1]
    ),
)


@CONFORMANCE
@given(window=_timestamps)
def test_timestamp_terms_match(reference: Reference, window: tuple[int, int]) -> None:
    after, before = window
    ours = terms.timestamp(after, before)

    theirs = reference.call(
        "createTimestampTerms", {"afterThreshold": after, "beforeThreshold": before}
    )
    decoded = reference.call("decodeTimestampTerms", ours)

    assert ours == _hex_bytes(theirs)
    assert decoded == {"afterThreshold": after, "beforeThreshold": before}
    assert terms.decode_timestamp(ours) == terms.TimestampTerms(after=after, before=before)


@CONFORMANCE
@given(limit=st.integers(1, JS_SAFE_INT), max_value=uint256, nonce=uint256)
def test_single_word_terms_match(
    reference: Reference, limit: int, max_value: int, nonce: int
) -> None:
    nonce_bytes = nonce.to_bytes(max(1, (nonce.bit_length() + 7) // 8), "big")

    assert terms.limited_calls(limit) == _hex_bytes(
        reference.call("createLimitedCallsTerms", {"limit": limit})
    )
    assert terms.value_lte(max_value) == _hex_bytes(
        reference.call("createValueLteTerms", {"maxValue": big(max_value)})
    )
    assert terms.nonce(nonce) == _hex_bytes(
        reference.call("createNonceTerms", {"nonce": nonce_bytes})
    )
    assert reference.call("decodeLimitedCallsTerms", terms.limited_calls(limit)) == {"limit": limit}
    assert reference.call("decodeValueLteTerms", terms.value_lte(max_value)) == {
        "maxValue": max_value
    }
    assert _hex_bytes(
        reference.call("decodeNonceTerms", terms.nonce(nonce))["nonce"]
    ) == terms.nonce(nonce)


@CONFORMANCE
@given(
    redeemers=st.lists(addresses, min_size=1, max_size=5),
    targets=st.lists(addresses, min_size=1, max_size=5),
)
def test_address_list_terms_match(
    reference: Reference, redeemers: list[str], targets: list[str]
) -> None:
    ours_redeemer = terms.redeemer(redeemers)
    ours_targets = terms.allowed_targets(targets)

    assert ours_redeemer == _hex_bytes(
        reference.call("createRedeemerTerms", {"redeemers": redeemers})
    )
    assert ours_targets == _hex_bytes(
        reference.call("createAllowedTargetsTerms", {"targets": targets})
    )
    assert [
        a.lower() for a in reference.call("decodeRedeemerTerms", ours_redeemer)["redeemers"]
    ] == [a.lower() for a in redeemers]
    assert terms.decode_redeemer(ours_redeemer).addresses == tuple(redeemers)
    assert terms.decode_allowed_targets(ours_targets).addresses == tuple(targets)


@CONFORMANCE
@given(selectors=st.lists(st.binary(min_size=4, max_size=4), min_size=1, max_size=6))
def test_allowed_methods_terms_match(reference: Reference, selectors: list[bytes]) -> None:
    ours = terms.allowed_methods(selectors)

    theirs = reference.call(
        "createAllowedMethodsTerms", {"selectors": ["0x" + s.hex() for s in selectors]}
    )

    assert ours == _hex_bytes(theirs)
    assert terms.decode_allowed_methods(ours).selectors == tuple(selectors)


@CONFORMANCE
@given(start=st.integers(0, JS_SAFE_INT), value=st.binary(min_size=1, max_size=80), payee=addresses)
def test_allowed_calldata_and_payee_terms_match(
    reference: Reference, start: int, value: bytes, payee: str
) -> None:
    ours = terms.allowed_calldata(start, value)
    ours_payee = terms.payee(payee)

    theirs = reference.call("createAllowedCalldataTerms", {"startIndex": start, "value": value})
    theirs_payee = reference.call(
        "createAllowedCalldataTerms", {"startIndex": 4, "value": encode(["address"], [payee])}
    )
    decoded = reference.call("decodeAllowedCalldataTerms", ours)

    assert ours == _hex_bytes(theirs)
    assert ours_payee == _hex_bytes(theirs_payee)
    assert (decoded["startIndex"], _hex_bytes(decoded["value"])) == (start, value)
    assert terms.decode_payee(ours_payee).address == payee


_DECODERS = [
    ("decodeERC20TokenPeriodTransferTerms", terms.decode_erc20_period_transfer),
    ("decodeERC20TransferAmountTerms", terms.decode_erc20_transfer_amount),
    ("decodeERC20StreamingTerms", terms.decode_erc20_streaming),
    ("decodeTimestampTerms", terms.decode_timestamp),
    ("decodeLimitedCallsTerms", terms.decode_limited_calls),
    ("decodeValueLteTerms", terms.decode_value_lte),
    ("decodeNonceTerms", terms.decode_nonce),
    ("decodeRedeemerTerms", terms.decode_redeemer),
    ("decodeAllowedTargetsTerms", terms.decode_allowed_targets),
    ("decodeAllowedMethodsTerms", terms.decode_allowed_methods),
    ("decodeAllowedCalldataTerms", terms.decode_allowed_calldata),
]


@pytest.mark.parametrize(("js_name", "decoder"), _DECODERS, ids=[name for name, _ in _DECODERS])
@settings(max_examples=40, deadline=None, database=None)
@given(
    data=st.one_of(
        st.binary(max_size=160), st.sampled_from([b"", bytes(31), bytes(33), bytes(116)])
    )
)
def test_whatever_metamask_refuses_to_decode_we_refuse(
    reference: Reference, js_name: str, decoder: Any, data: bytes
) -> None:
    try:
        reference.call(js_name, data)
    except ReferenceFailed as exc:
        # JS decodes some uint256 fields into numbers and gives up above 2**53; that is a limit of
        # JavaScript, not a malformed blob, so only the structural refusals must agree.
        if "Number is too large" not in str(exc):
            with pytest.raises(TermsError):
                decoder(data)


def test_uint256_max_period_amount_round_trips(reference: Reference) -> None:
    token = "0x" + "ab" * 20
    ours = terms.erc20_period_transfer(token, UINT256_MAX, 1, 1)

    decoded = reference.call("decodeERC20TokenPeriodTransferTerms", ours)

    assert decoded["periodAmount"] == UINT256_MAX


def _random_delegation(rng: random.Random) -> Delegation:
    def address() -> str:
        return "0x" + rng.randbytes(20).hex()

    return Delegation(
        delegate=address(),
        delegator=address(),
        authority=ROOT_AUTHORITY if rng.random() < 0.5 else rng.randbytes(32),
        caveats=[
            Caveat(
                address(), rng.randbytes(rng.randrange(0, 120)), rng.randbytes(rng.randrange(0, 8))
            )
            for _ in range(rng.randrange(0, 5))
        ],
        salt=rng.getrandbits(256),
        signature=rng.randbytes(65),
    )


def test_batch_mode_answers_many_cases_in_one_node_call(reference: Reference) -> None:
    # `reference` only guarantees node and delegation-core are installed; this test spawns its own
    # process to cover the script's one-shot batch mode (JSON array in, JSON array out).
    rng = random.Random(20260519)
    batch = [_random_delegation(rng) for _ in range(150)]
    cases = [{"fn": "hashDelegation", "args": to_js([_js_delegation(d)])} for d in batch]
    node = shutil.which("node")
    assert node is not None

    completed = subprocess.run(
        [node, str(REFERENCE_SCRIPT)],
        cwd=REPO_ROOT,
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answers = json.loads(completed.stdout)

    assert [a["ok"] for a in answers] == [True] * len(batch)
    assert [_hex_bytes(a["result"]) for a in answers] == [hash_delegation(d) for d in batch]
