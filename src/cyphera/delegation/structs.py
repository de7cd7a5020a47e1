"""The framework's structs: `Caveat`, `Delegation`, `Execution`, and its two magic values.

The dataclasses validate and normalise on construction (addresses checksummed, byte-likes turned
into `bytes`, lists into tuples) so two equal delegations always compare equal and hash the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cyphera.delegation._values import as_bytes, check_uint, checksum
from cyphera.delegation.errors import EncodingError

ROOT_AUTHORITY: bytes = b"\xff" * 32
"""The `authority` of a root delegation: the delegator acts on its own behalf."""

ANY_DELEGATE: str = "0x0000000000000000000000000000000000000a11"
"""A delegate value that lets anyone redeem (an "open" delegation). Never accept it in a grant."""


@dataclass(frozen=True, slots=True)
class Caveat:
    """One restriction on a delegation: an enforcer contract and the terms it checks.

    ``args`` are supplied by the redeemer at redemption time and are not signed (nor hashed).
    """

    enforcer: str
    terms: bytes
    args: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "enforcer", checksum(self.enforcer, field="caveat enforcer"))
        object.__setattr__(self, "terms", as_bytes(self.terms, field="caveat terms"))
        object.__setattr__(self, "args", as_bytes(self.args, field="caveat args"))


@dataclass(frozen=True, slots=True)
class Delegation:
    """A delegation from ``delegator`` to ``delegate``, as the DelegationManager sees it.

    ``authority`` is `ROOT_AUTHORITY` for a root delegation, else the hash of the parent delegation.
    ``signature`` is empty until signed and is not part of the delegation hash.
    """

    delegate: str
    delegator: str
    authority: bytes
    caveats: Sequence[Caveat]
    salt: int
    signature: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "delegate", checksum(self.delegate, field="delegate"))
        object.__setattr__(self, "delegator", checksum(self.delegator, field="delegator"))
        object.__setattr__(
            self, "authority", as_bytes(self.authority, field="authority", length=32)
        )
        caveats = tuple(self.caveats)
        for caveat in caveats:
            if not isinstance(caveat, Caveat):
                raise EncodingError("caveats must be Caveat instances", code="invalid_caveat")
        object.__setattr__(self, "caveats", caveats)
        object.__setattr__(self, "salt", check_uint(self.salt, field="salt"))
        object.__setattr__(self, "signature", as_bytes(self.signature, field="signature"))

    @property
    def is_root(self) -> bool:
        """True when this delegation's authority is `ROOT_AUTHORITY`."""
        return self.authority == ROOT_AUTHORITY

    def with_signature(self, signature: bytes) -> Delegation:
        """A copy of this delegation carrying `signature`."""
        return replace(self, signature=signature)


@dataclass(frozen=True, slots=True)
class Execution:
    """One call the delegator's account makes: ``target.call{value}(calldata)``."""

    target: str
    value: int
    calldata: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", checksum(self.target, field="execution target"))
        object.__setattr__(self, "value", check_uint(self.value, field="execution value"))
        object.__setattr__(self, "calldata", as_bytes(self.calldata, field="execution calldata"))
