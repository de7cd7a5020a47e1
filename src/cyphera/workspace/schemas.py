"""Request and response bodies of ``/v1/payout_addresses``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cyphera.kit.clock import to_unix
from cyphera.kit.schema import RequestModel
from cyphera.kit.text import StorableStr
from cyphera.models.mixins import Mode
from cyphera.models.payout_address import PayoutAddress as PayoutAddressModel


class PayoutAddress(BaseModel):
    """Where the workspace is paid on one network, in this mode."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "payout_b3Jk9TqW2mXc8LpZ4nRv6sYd",
                    "object": "payout_address",
                    "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                    "created": 1767225600,
                    "livemode": False,
                    "network": "base-sepolia",
                    "updated": 1767225600,
                }
            ]
        }
    )

    id: str
    object: Literal["payout_address"] = "payout_address"
    address: str = Field(description="EIP-55 checksummed address that receives the payments.")
    created: int
    livemode: bool
    network: str
    updated: int

    @classmethod
    def from_model(cls, payout: PayoutAddressModel) -> PayoutAddress:
        return cls(
            id=payout.id,
            address=payout.address,
            created=to_unix(payout.created_at),
            livemode=payout.mode is Mode.LIVE,
            network=payout.network,
            updated=to_unix(payout.updated_at),
        )


class PayoutAddressSet(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}]}
    )

    address: Annotated[StorableStr, StringConstraints(max_length=64)] = Field(
        description="An EVM address; mixed case must carry a valid EIP-55 checksum."
    )
