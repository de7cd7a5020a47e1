"""Errors of the workspace domain."""

from __future__ import annotations

from cyphera.exceptions import InvalidRequest, NotFound


class NetworkUnsupported(InvalidRequest):
    code = "network_unsupported"


class AddressInvalid(InvalidRequest):
    code = "address_invalid"


class PayoutAddressMissing(NotFound):
    code = "resource_missing"
