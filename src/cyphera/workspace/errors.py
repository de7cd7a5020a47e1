"""Errors of the workspace domain."""

from __future__ import annotations

from cyphera.exceptions import Conflict, Forbidden, InvalidRequest, NotFound


class NetworkUnsupported(InvalidRequest):
    code = "network_unsupported"


class NetworkOfOtherMode(InvalidRequest):
    """A mainnet named in test mode, or a testnet in live mode: test data never touches value."""

    code = "network_mode_mismatch"


class AddressInvalid(InvalidRequest):
    code = "address_invalid"


class PayoutAddressMissing(NotFound):
    code = "resource_missing"


class LastOwner(Conflict):
    """A workspace always keeps an owner: the last one can be neither demoted nor removed."""

    code = "last_owner"


class MemberExists(Conflict):
    code = "member_exists"


class InvitationRevoked(Conflict):
    code = "invitation_revoked"


class InvitationUsed(Conflict):
    code = "invitation_used"


class InvitationExpired(Conflict):
    code = "invitation_expired"


class InvitationAddressMismatch(Forbidden):
    code = "invitation_address_mismatch"
