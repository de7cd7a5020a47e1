"""``/v1/billing_portal`` bodies (Stripe's shapes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from cyphera.kit.clock import to_unix
from cyphera.kit.schema import RequestModel
from cyphera.kit.text import StorableStr
from cyphera.models import BillingPortalSession as BillingPortalSessionModel
from cyphera.models.mixins import Mode
from cyphera.models.portal import PortalCancelMode

Url = Annotated[
    str, StringConstraints(min_length=1, max_length=2048, pattern=r"^https?://[^\s\x00]+$")
]


class BillingPortalSessionCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer": "cus_NffrFeUfNV2Hib4mQ8kPz3Rs",
                    "return_url": "https://shop.example.com/account",
                }
            ]
        }
    )

    customer: Annotated[StorableStr, StringConstraints(min_length=1, max_length=40)] = Field(
        description="The customer whose subscriptions the portal shows."
    )
    return_url: Url | None = Field(
        default=None, description="Where the portal's “Back to …” link goes."
    )


class BillingPortalSession(BaseModel):
    """A short-lived link to the customer portal for one customer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "bps_3Xq7tYpWm2LkRz8NvB4cHd1F",
                    "object": "billing_portal.session",
                    "customer": "cus_NffrFeUfNV2Hib4mQ8kPz3Rs",
                    "url": "https://pay.example.com/portal/sessions/bps_3Xq7tYpWm2LkRz8NvB4cHd1F"
                    "?key=p3cZ7mJq0dQx5r9TgW2yLkV8sN4aE6bHfU1oI3nRtYw",
                    "return_url": "https://shop.example.com/account",
                    "created": 1767225600,
                    "expires_at": 1767226500,
                    "livemode": False,
                }
            ]
        }
    )

    id: str
    object: Literal["billing_portal.session"] = "billing_portal.session"
    customer: str
    url: str = Field(
        description="Send the customer here. It opens the portal until `expires_at`; "
        "the portal then keeps them signed in for an hour."
    )
    return_url: str | None
    created: int
    expires_at: int
    livemode: bool

    @classmethod
    def from_model(cls, link: BillingPortalSessionModel, *, url: str) -> BillingPortalSession:
        return cls(
            id=link.id,
            customer=link.customer_id,
            url=url,
            return_url=link.return_url,
            created=to_unix(link.created_at),
            expires_at=to_unix(link.expires_at),
            livemode=link.mode is Mode.LIVE,
        )


class PortalCancelSettings(BaseModel):
    mode: PortalCancelMode = Field(
        description="`at_period_end`: customers cancel at the end of the paid period (default). "
        "`immediately`: they may also cancel at once. Revoking the permission on chain always "
        "ends a subscription at once."
    )


_CONFIGURATION_EXAMPLE: JsonDict = {"subscription_cancel": {"mode": "at_period_end"}}


class PortalConfiguration(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"object": "billing_portal.configuration", **_CONFIGURATION_EXAMPLE}]
        }
    )

    object: Literal["billing_portal.configuration"] = "billing_portal.configuration"
    subscription_cancel: PortalCancelSettings


class PortalConfigurationUpdate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CONFIGURATION_EXAMPLE]})

    subscription_cancel: PortalCancelSettings
