"""EIP-712 hashing of delegations, exactly as DelegationManager v1.3.0 computes it.

A delegation's hash is its identity: the manager's `disabledDelegations`, the period enforcer's
state and its `TransferredInPeriod` events are all keyed by it. The signature and the caveats'
``args`` are not part of it.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from cyphera.delegation._values import check_uint, checksum, to_hex
from cyphera.delegation.structs import Caveat, Delegation

DOMAIN_NAME = "DelegationManager"
DOMAIN_VERSION = "1"

CAVEAT_TYPE = "Caveat(address enforcer,bytes terms)"
DELEGATION_TYPE = (
    "Delegation(address delegate,address delegator,bytes32 authority,Caveat[] caveats,uint256 salt)"
    + CAVEAT_TYPE
)
EIP712_DOMAIN_TYPE = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

CAVEAT_TYPEHASH: bytes = keccak(text=CAVEAT_TYPE)
DELEGATION_TYPEHASH: bytes = keccak(text=DELEGATION_TYPE)
EIP712_DOMAIN_TYPEHASH: bytes = keccak(text=EIP712_DOMAIN_TYPE)

# The eth_signTypedData_v4 `types` MetaMask's smart-accounts-kit signs with
# (SIGNABLE_DELEGATION_TYPED_DATA plus viem's EIP712Domain): no `signature`, no caveat `args`.
_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Delegation": [
        {"name": "delegate", "type": "address"},
        {"name": "delegator", "type": "address"},
        {"name": "authority", "type": "bytes32"},
        {"name": "caveats", "type": "Caveat[]"},
        {"name": "salt", "type": "uint256"},
    ],
    "Caveat": [
        {"name": "enforcer", "type": "address"},
        {"name": "terms", "type": "bytes"},
    ],
}


def hash_caveat(caveat: Caveat) -> bytes:
    """keccak(abi.encode(CAVEAT_TYPEHASH, enforcer, keccak(terms))) — ``args`` are not signed."""
    return keccak(
        encode(
            ["bytes32", "address", "bytes32"],
            [CAVEAT_TYPEHASH, caveat.enforcer, keccak(caveat.terms)],
        )
    )


def hash_delegation(delegation: Delegation) -> bytes:
    """The EIP-712 struct hash of `delegation` (what `getDelegationHash` returns on-chain)."""
    caveats_hash = keccak(b"".join(hash_caveat(caveat) for caveat in delegation.caveats))
    return keccak(
        encode(
            ["bytes32", "address", "address", "bytes32", "bytes32", "uint256"],
            [
                DELEGATION_TYPEHASH,
                delegation.delegate,
                delegation.delegator,
                delegation.authority,
                caveats_hash,
                delegation.salt,
            ],
        )
    )


def domain_separator(*, chain_id: int, delegation_manager: str) -> bytes:
    """The manager's EIP-712 domain separator (what `getDomainHash` returns on that chain)."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                EIP712_DOMAIN_TYPEHASH,
                keccak(text=DOMAIN_NAME),
                keccak(text=DOMAIN_VERSION),
                check_uint(chain_id, field="chain_id"),
                checksum(delegation_manager, field="delegation_manager"),
            ],
        )
    )


def delegation_digest(delegation: Delegation, *, chain_id: int, delegation_manager: str) -> bytes:
    """keccak(0x1901 ‖ domainSeparator ‖ delegationHash): the 32 bytes the delegator signs."""
    return keccak(
        b"\x19\x01"
        + domain_separator(chain_id=chain_id, delegation_manager=delegation_manager)
        + hash_delegation(delegation)
    )


def typed_data(delegation: Delegation, *, chain_id: int, delegation_manager: str) -> dict[str, Any]:
    """The `eth_signTypedData_v4` payload for `delegation`, shaped as MetaMask's tooling sends it.

    ``chainId`` is a JSON number and ``salt`` a decimal string (viem serialises bigints that way);
    bytes are 0x-hex. `eth_account.messages.encode_typed_data(full_message=...)` accepts it and
    its digest equals `delegation_digest`.
    """
    check_uint(chain_id, field="chain_id")
    return {
        "types": {name: [dict(field) for field in fields] for name, fields in _TYPES.items()},
        "primaryType": "Delegation",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": checksum(delegation_manager, field="delegation_manager"),
        },
        "message": {
            "delegate": delegation.delegate,
            "delegator": delegation.delegator,
            "authority": to_hex(delegation.authority),
            "caveats": [
                {"enforcer": caveat.enforcer, "terms": to_hex(caveat.terms)}
                for caveat in delegation.caveats
            ],
            "salt": str(delegation.salt),
        },
    }
