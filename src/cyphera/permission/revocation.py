"""A permission's revocation on chain: the call that makes it, and reading whether it happened.

The customer revokes by having their account call ``DelegationManager.disableDelegation`` with
the delegation they signed: the root of the stored permission context (the last delegation of
the chain, whose delegator is the customer's account). Nobody's word is taken for it: the
platform reads ``disabledDelegations(hash)`` from the chain before it records the revocation
(`cyphera.subscription.revocation`).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from cyphera.chain.rpc import ChainRpc
from cyphera.delegation.calls import (
    decode_disabled_delegations,
    encode_disable_delegation,
    encode_disabled_delegations,
)
from cyphera.delegation.encoding import decode_permission_context
from cyphera.delegation.hashing import hash_delegation
from cyphera.delegation.structs import Delegation
from cyphera.exceptions import InternalError
from cyphera.models import Permission


class PermissionContextUnreadable(InternalError):
    code = "permission_context_unreadable"


@dataclass(frozen=True, slots=True)
class RevocationCall:
    """The transaction the customer's account sends to revoke: ``from`` → ``to`` with ``data``."""

    chain_id: int
    account: str
    to: str
    data: bytes
    delegation_hash: bytes


def customer_delegation(permission: Permission) -> Delegation:
    """The delegation the customer's account signed: the root of the stored context."""
    delegations = decode_permission_context(permission.context)
    if not delegations or delegations[-1].delegator.lower() != permission.account.lower():
        raise PermissionContextUnreadable(
            f"permission {permission.id}'s context has no delegation from {permission.account}"
        )
    return delegations[-1]


def revocation_call(permission: Permission) -> RevocationCall:
    delegation = customer_delegation(permission)
    return RevocationCall(
        chain_id=permission.chain_id,
        account=to_checksum_address(permission.account),
        to=to_checksum_address(permission.delegation_manager),
        data=encode_disable_delegation(delegation),
        delegation_hash=hash_delegation(delegation),
    )


async def is_disabled_on_chain(rpc: ChainRpc, permission: Permission) -> bool:
    """Whether the chain says the customer's delegation is disabled (latest block)."""
    call = revocation_call(permission)
    returned = await rpc.call(
        call.chain_id, to=call.to, data=encode_disabled_delegations(call.delegation_hash)
    )
    return decode_disabled_delegations(returned)
