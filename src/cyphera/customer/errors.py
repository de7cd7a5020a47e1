"""Errors of the customer domain."""

from __future__ import annotations

from cyphera.exceptions import Conflict, InvalidRequest, NotFound


class AddressInvalid(InvalidRequest):
    code = "address_invalid"


class CustomerExists(Conflict):
    """A customer with this wallet address already exists in the workspace and mode."""

    code = "customer_exists"

    def __init__(self, message: str, *, customer_id: str, param: str | None = "address") -> None:
        super().__init__(message, param=param)
        self.customer_id = customer_id


class CustomerMissing(NotFound):
    code = "resource_missing"
