"""Whom a portal session shows: the one place the portal's tenancy rule is written.

A portal session opens for a wallet (signed in with Ethereum: that address's customers in every
workspace and mode, since the customer owns the address wherever they paid from it) or for one
customer (a merchant's portal link: that customer, in that workspace and mode). Every portal
query selects customers through `Viewer.customers`; a subscription outside it is not found,
exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_

from cyphera.models import Customer
from cyphera.models.mixins import Mode


@dataclass(frozen=True, slots=True)
class Viewer:
    session_id: str
    address: str | None = None
    workspace_id: str | None = None
    mode: Mode | None = None
    customer_id: str | None = None
    return_url: str | None = None

    def customers(self) -> ColumnElement[bool]:
        """The condition on `Customer` rows this viewer may see."""
        if self.address is not None:
            return Customer.address == self.address
        # A link's session always has all three (the table's check constraint).
        assert self.customer_id is not None
        assert self.workspace_id is not None
        return and_(
            Customer.id == self.customer_id,
            Customer.workspace_id == self.workspace_id,
            Customer.mode == self.mode,
        )
