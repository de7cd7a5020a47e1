"""Request and response bodies of ``/v1/customers`` (Stripe's shapes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.config import JsonDict

from cyphera import models
from cyphera.kit.clock import to_unix
from cyphera.kit.metadata import Metadata
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel, refuse_null
from cyphera.kit.text import StorableStr
from cyphera.models.mixins import Mode

MAX_EMAIL_LENGTH = 320  # RFC 5321: 64 for the local part, @, 255 for the domain

# Deliberately loose (one @, a dot in the domain, no spaces): the address is the merchant's
# contact data, not something Cyphera sends mail to; a strict RFC 5322 parser refuses real ones.
Email = Annotated[
    StorableStr,
    StringConstraints(
        min_length=3, max_length=MAX_EMAIL_LENGTH, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
# The shape is checked here (and documented); the EIP-55 checksum and the zero address are the
# service's checks (`address_invalid`).
AddressInput = Annotated[StorableStr, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]

_CUSTOMER_EXAMPLE: JsonDict = {
    "id": "cus_NffrFeUfNV2Hib4mQ8kPz3Rs",
    "object": "customer",
    "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "created": 1767225600,
    "email": "jenny.rosen@example.com",
    "livemode": False,
    "metadata": {"crm_id": "4711"},
    "updated": 1767225600,
}


class Customer(BaseModel):
    """A payer, identified by the wallet that grants permissions and pays."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CUSTOMER_EXAMPLE]})

    id: str
    object: Literal["customer"] = "customer"
    address: str = Field(description="The customer's wallet, EIP-55 checksummed.")
    created: int = Field(description="Unix time (seconds) of creation.")
    email: str | None
    livemode: bool
    metadata: dict[str, str]
    updated: int = Field(description="Unix time (seconds) of the last change.")

    @classmethod
    def from_model(cls, customer: models.Customer) -> Customer:
        return cls(
            id=customer.id,
            address=customer.address,
            created=to_unix(customer.created_at),
            email=customer.email,
            livemode=customer.mode is Mode.LIVE,
            metadata={str(k): str(v) for k, v in customer.metadata_.items()},
            updated=to_unix(customer.updated_at),
        )


class CustomerCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                    "email": "jenny.rosen@example.com",
                    "metadata": {"crm_id": "4711"},
                }
            ]
        }
    )

    address: AddressInput = Field(
        description="The customer's EVM wallet address; mixed case must carry a valid EIP-55 "
        "checksum. Unique per workspace and mode (`409 customer_exists` otherwise)."
    )
    email: Email | None = None
    metadata: Metadata = Field(default_factory=dict)


class CustomerUpdate(RequestModel):
    """Only the parameters given change; ``metadata`` is merged (``""`` removes a key).

    The address cannot change: it is the wallet the customer's permissions were granted from.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "jenny@example.com"}, {"metadata": {"crm_id": ""}}]
        }
    )

    email: Email | None = Field(default=None, description="`null` clears it.")
    metadata: Metadata | None = None

    _not_null = field_validator("metadata", mode="before")(refuse_null)


class CustomerListParams(ListParams):
    address: AddressInput | None = Field(
        default=None, description="Only the customer paying from this wallet (any letter case)."
    )
    email: Annotated[StorableStr, StringConstraints(max_length=MAX_EMAIL_LENGTH)] | None = Field(
        default=None, description="Only customers with exactly this email (case-sensitive)."
    )
