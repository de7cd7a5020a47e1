"""Hypothesis strategies for delegation values, kept inside what MetaMask's JS also accepts."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from cyphera.delegation import ROOT_AUTHORITY, Caveat, Delegation
from cyphera.delegation._values import checksum

UINT256_MAX = 2**256 - 1
# delegation-core decodes these fields into JS numbers and refuses anything above 2**53 - 1.
JS_SAFE_INT = 2**53 - 1
# delegation-core's Timestamp/streaming builders refuse instants after 9999-12-31T23:59:59Z.
JS_MAX_TIMESTAMP = 253_402_300_799


def _address_from(raw: bytes) -> str:
    return checksum("0x" + raw.hex())


addresses: SearchStrategy[str] = st.binary(min_size=20, max_size=20).map(_address_from)
uint256: SearchStrategy[int] = st.integers(min_value=0, max_value=UINT256_MAX)
positive_uint256: SearchStrategy[int] = st.integers(min_value=1, max_value=UINT256_MAX)
small_bytes: SearchStrategy[bytes] = st.binary(max_size=96)

caveats: SearchStrategy[Caveat] = st.builds(
    Caveat, enforcer=addresses, terms=small_bytes, args=small_bytes
)


def _delegation(
    delegate: str,
    delegator: str,
    authority: bytes,
    caveat_list: list[Caveat],
    salt: int,
    signature: bytes,
) -> Delegation:
    return Delegation(
        delegate=delegate,
        delegator=delegator,
        authority=authority,
        caveats=caveat_list,
        salt=salt,
        signature=signature,
    )


delegations: SearchStrategy[Delegation] = st.builds(
    _delegation,
    addresses,
    addresses,
    st.one_of(st.just(ROOT_AUTHORITY), st.binary(min_size=32, max_size=32)),
    st.lists(caveats, max_size=4),
    uint256,
    st.one_of(st.just(b""), st.binary(min_size=65, max_size=65), small_bytes),
)
