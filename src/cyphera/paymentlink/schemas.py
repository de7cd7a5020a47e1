"""Request and response bodies of ``/v1/payment_links`` (Stripe's shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from cyphera.checkout.schemas import AcceptedNetworks, AcceptedTokens, ObjectId, Quantity, Url
from cyphera.kit.clock import to_unix
from cyphera.kit.metadata import Metadata
from cyphera.kit.pagination import ListParams
from cyphera.kit.schema import RequestModel, refuse_null
from cyphera.models import PaymentLink as PaymentLinkModel
from cyphera.models.mixins import Mode

_PAYMENT_LINK_EXAMPLE: JsonDict = {
    "id": "plink_a1B2c3D4e5F6g7H8i9J0kLmN",
    "object": "payment_link",
    "livemode": False,
    "created": 1767225600,
    "active": True,
    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
    "quantity": 1,
    "accepted_networks": None,
    "accepted_tokens": ["USDC"],
    "success_url": "https://shop.example.com/welcome",
    "cancel_url": None,
    "url": "https://api.cyphera.example/l/plink_a1B2c3D4e5F6g7H8i9J0kLmN",
    "metadata": {"campaign": "spring"},
}


class PaymentLink(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PAYMENT_LINK_EXAMPLE]})

    id: str
    object: Literal["payment_link"] = "payment_link"
    livemode: bool
    created: int
    active: bool = Field(description="Whether the link opens checkout sessions.")
    price: str
    quantity: int
    accepted_networks: list[str] | None = Field(
        description="The networks each session offers; null: every network of this mode with a "
        "payout address at the time of the visit."
    )
    accepted_tokens: list[str] | None = Field(
        description="The tokens each session offers; null: every token those networks carry."
    )
    success_url: str | None
    cancel_url: str | None
    url: str = Field(
        description="The public page: each visit opens a new checkout session and goes to it."
    )
    metadata: dict[str, str]

    @classmethod
    def from_model(cls, link: PaymentLinkModel, *, url: str) -> PaymentLink:
        return cls(
            id=link.id,
            livemode=link.mode is Mode.LIVE,
            created=to_unix(link.created_at),
            active=link.active,
            price=link.price_id,
            quantity=link.quantity,
            accepted_networks=link.accepted_networks,
            accepted_tokens=link.accepted_tokens,
            success_url=link.success_url,
            cancel_url=link.cancel_url,
            url=url,
            metadata=dict(link.metadata_),
        )


class PaymentLinkCreate(RequestModel):
    """The price must be an active recurring price; networks and tokens are checked as a
    checkout session's are."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"price": "price_1MoBy5LkdIwHu7ixZhnattbh"},
                {
                    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
                    "quantity": 2,
                    "networks": ["base-sepolia"],
                    "tokens": ["USDC"],
                    "success_url": "https://shop.example.com/welcome",
                    "cancel_url": "https://shop.example.com/pricing",
                    "metadata": {"campaign": "spring"},
                },
            ]
        }
    )

    price: ObjectId
    quantity: Quantity = 1
    networks: AcceptedNetworks | None = Field(
        default=None,
        description="The networks customers may pay on (keys from `GET /v1/networks`). "
        "Default: every network of this mode with a payout address when the link is visited.",
    )
    tokens: AcceptedTokens | None = Field(
        default=None,
        description="The tokens customers may pay with. Default: every token the accepted "
        "networks carry.",
    )
    success_url: Url | None = None
    cancel_url: Url | None = None
    metadata: Metadata | None = None


class PaymentLinkUpdate(RequestModel):
    """`active: false` stops the link opening sessions (its page then says so); `metadata` is
    merged (``""`` removes a key)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"active": False},
                {"success_url": "https://shop.example.com/thanks", "metadata": {"campaign": ""}},
            ]
        }
    )

    active: bool | None = None
    success_url: Url | None = None
    cancel_url: Url | None = None
    metadata: Metadata | None = None

    _not_null = field_validator("active", "success_url", "cancel_url", "metadata", mode="before")(
        refuse_null
    )


class PaymentLinkListParams(ListParams):
    active: bool | None = Field(default=None, description="Only active (or inactive) links.")
