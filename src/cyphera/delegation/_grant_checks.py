"""The individual checks behind `erc7715.validate_periodic_grant`, each raising `PermissionRejected`."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cyphera.delegation import terms
from cyphera.delegation._values import checksum, hex_to_bytes
from cyphera.delegation.addresses import FrameworkAddresses
from cyphera.delegation.caveats import PERIODIC_ENFORCERS, TIMESTAMP_ENFORCER
from cyphera.delegation.errors import DelegationError, PermissionRejected, TermsError
from cyphera.delegation.hashing import hash_delegation
from cyphera.delegation.signing import recover_delegation_signer
from cyphera.delegation.structs import ANY_DELEGATE, ROOT_AUTHORITY, Caveat, Delegation

_T = TypeVar("_T")

PERIODIC_PERMISSION_TYPE = "erc20-token-periodic"


@dataclass(frozen=True, slots=True)
class Dependency:
    """A factory call that must run once before the grant can be redeemed (ERC-4337 style)."""

    factory: str
    factory_data: bytes


def reject(code: str, message: str) -> PermissionRejected:
    """The `PermissionRejected` to raise for a failed check."""
    return PermissionRejected(code, message)


def unpack_grant(
    grant_or_context: Mapping[str, Any] | bytes | str,
    *,
    chain_id: int,
    framework: FrameworkAddresses,
) -> tuple[bytes, tuple[Dependency, ...]]:
    """The raw context and dependencies, after checking the grant's envelope claims."""
    if isinstance(grant_or_context, bytes | bytearray):
        return bytes(grant_or_context), ()
    if isinstance(grant_or_context, str):
        return hex_field(grant_or_context, "context"), ()
    grant = grant_or_context
    if "context" not in grant:
        raise reject("malformed_grant", "the grant has no context")
    if "delegationManager" not in grant:
        raise reject("malformed_grant", "the grant has no delegationManager")
    try:
        manager = checksum(grant["delegationManager"], field="delegationManager")
    except DelegationError as exc:
        raise reject("malformed_grant", exc.message) from exc
    if manager != checksum(framework.delegation_manager):
        raise reject("wrong_manager", f"the grant names manager {manager}, not this chain's")
    if "chainId" in grant:
        claimed = grant["chainId"]
        try:
            claimed_id = int(claimed, 16) if isinstance(claimed, str) else int(claimed)
        except (TypeError, ValueError) as exc:
            raise reject("malformed_grant", f"chainId {claimed!r} is not a number") from exc
        if claimed_id != chain_id:
            raise reject("wrong_chain", f"the grant is for chain {claimed_id}, not {chain_id}")
    permission = grant.get("permission")
    if isinstance(permission, Mapping) and permission.get("type") not in (
        None,
        PERIODIC_PERMISSION_TYPE,
    ):
        raise reject(
            "wrong_permission_type", f"permission type {permission.get('type')!r} is not periodic"
        )
    dependencies: list[Dependency] = []
    listed = grant.get("dependencies") or ()
    if not isinstance(listed, list | tuple):
        raise reject("malformed_grant", "dependencies must be a list")
    for item in listed:
        try:
            dependencies.append(
                Dependency(
                    factory=checksum(item["factory"], field="factory"),
                    factory_data=hex_to_bytes(item["factoryData"], field="factoryData"),
                )
            )
        except (DelegationError, KeyError, TypeError) as exc:
            raise reject("malformed_grant", f"malformed dependency {item!r}") from exc
    return hex_field(grant["context"], "context"), tuple(dependencies)


def hex_field(value: object, field: str) -> bytes:
    """A 0x-hex grant field as bytes, or `PermissionRejected(malformed_context)`."""
    try:
        return hex_to_bytes(value, field=field)
    except DelegationError as exc:
        raise reject("malformed_context", exc.message) from exc


def check_chain(delegations: list[Delegation], redeemer: str) -> None:
    """Leaf delegate is `redeemer`, each authority is its parent's hash, root last, all signed."""
    leaf = delegations[0]
    if leaf.delegate == checksum(ANY_DELEGATE):
        raise reject(
            "wrong_delegate", "the leaf delegation is open (ANY_DELEGATE); anyone could redeem it"
        )
    if leaf.delegate != redeemer:
        raise reject(
            "wrong_delegate", f"the leaf delegate is {leaf.delegate}, not our redeemer {redeemer}"
        )
    for index, (child, parent) in enumerate(itertools.pairwise(delegations)):
        if child.authority != hash_delegation(parent):
            raise reject(
                "broken_chain",
                f"delegation {index}'s authority is not the hash of delegation {index + 1}",
            )
        if child.delegator != parent.delegate:
            raise reject(
                "broken_chain",
                f"delegation {index}'s delegator is not delegation {index + 1}'s delegate",
            )
    if delegations[-1].authority != ROOT_AUTHORITY:
        raise reject(
            "not_root", "the last delegation is not a root delegation (authority != ROOT_AUTHORITY)"
        )
    for index, delegation in enumerate(delegations):
        if not delegation.signature:
            raise reject("unsigned", f"delegation {index} carries no signature")


def classify_caveats(
    delegations: list[Delegation], framework: FrameworkAddresses
) -> dict[str, tuple[int, Caveat]]:
    """Enforcer name → (delegation index, caveat); refuses unknown, unsupported and duplicates."""
    names = {checksum(address): name for name, address in framework.enforcers.items()}
    found: dict[str, tuple[int, Caveat]] = {}
    for index, delegation in enumerate(delegations):
        for caveat in delegation.caveats:
            name = names.get(caveat.enforcer)
            if name is None:
                raise reject(
                    "unknown_enforcer",
                    f"enforcer {caveat.enforcer} is not a known enforcer of this chain",
                )
            if name not in PERIODIC_ENFORCERS:
                raise reject(
                    "unsupported_enforcer", f"{name} is not allowed in a periodic permission"
                )
            if name in found:
                raise reject("duplicate_caveat", f"{name} appears more than once")
            found[name] = (index, caveat)
    return found


def decode_terms(decoder: Callable[[bytes], _T], caveat: Caveat, name: str) -> _T:
    """`decoder(caveat.terms)`, turning a `TermsError` into `PermissionRejected(invalid_terms)`."""
    try:
        return decoder(caveat.terms)
    except TermsError as exc:
        raise reject("invalid_terms", f"{name} terms: {exc.message}") from exc


def check_expiry(
    caveats: dict[str, tuple[int, Caveat]], *, not_after_expiry: int, now: int | None, start: int
) -> int:
    """The expiry of the Timestamp caveat, which must exist, be bounded and be in the future."""
    if TIMESTAMP_ENFORCER not in caveats:
        raise reject("expiry_missing", "no Timestamp caveat: the permission would never expire")
    window = decode_terms(
        terms.decode_timestamp, caveats[TIMESTAMP_ENFORCER][1], TIMESTAMP_ENFORCER
    )
    if window.before == 0:
        raise reject("expiry_missing", "the Timestamp caveat sets no expiry")
    if window.after != 0:
        # MetaMask's own decoder refuses this too; the period start already says when charging starts.
        raise reject("expiry_invalid", "the Timestamp caveat sets a not-before time")
    if window.before <= start:
        raise reject("expiry_invalid", "the permission expires before its first period starts")
    if window.before > not_after_expiry:
        raise reject("expiry_too_long", f"expiry {window.before} is later than {not_after_expiry}")
    if now is not None and window.before <= now:
        raise reject("expired", f"the permission expired at {window.before}")
    return window.before


def signatures_recover(delegations: list[Delegation], *, chain_id: int, manager: str) -> bool:
    """Whether every signature ECDSA-recovers to its own delegator (true for EOA/7702 accounts)."""
    for delegation in delegations:
        try:
            signer = recover_delegation_signer(
                delegation, chain_id=chain_id, delegation_manager=manager
            )
        except DelegationError:
            return False
        if signer != delegation.delegator:
            return False
    return True
