"""Bodies of ``/v1/checkout/sessions``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from web3 import Web3

from cyphera.customer.schemas import Email
from cyphera.delegation import ROOT_AUTHORITY, Delegation, typed_data
from cyphera.delegation.erc7715 import build_periodic_permission_request
from cyphera.kit.clock import to_unix
from cyphera.kit.hosted import checkout_client_secret, checkout_page_url
from cyphera.kit.schema import RequestModel
from cyphera.kit.text import StorableStr
from cyphera.models import CheckoutSession as CheckoutSessionModel

Address = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
HexSignature = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{130}$")]
Url = Annotated[
    str, StringConstraints(min_length=1, max_length=2048, pattern=r"^https?://[^\s\x00]+$")
]

_CUSTOMER_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
_PAYEE = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
_DELEGATE = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
_USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
_DELEGATION_MANAGER = "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3"
_ERC7715_EXAMPLE: JsonDict = build_periodic_permission_request(
    chain_id=84532,
    redeemer=_DELEGATE,
    token=_USDC_BASE_SEPOLIA,
    period_amount=19_990_000,
    period_duration=2_592_000,
    start_time=1767225600,
    expiry=1798761600,
    payee=_PAYEE,
    justification="Pro plan: 19.99 USDC every 30 days",
    from_address=_CUSTOMER_ADDRESS,
)
_CHECKOUT_SESSION_EXAMPLE: JsonDict = {
    "id": "cs_a1B2c3D4e5F6g7H8i9J0kLmN",
    "object": "checkout.session",
    "status": "open",
    "livemode": False,
    "created": 1767225600,
    "expires_at": 1767312000,
    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
    "quantity": 1,
    "amount_total": 1999,
    "currency": "usd",
    "accepted_networks": ["base-sepolia"],
    "accepted_tokens": ["USDC", "USDT"],
    "network": "base-sepolia",
    "chain_id": 84532,
    "token": "USDC",
    "customer_address": _CUSTOMER_ADDRESS,
    "url": "https://api.cyphera.example/pay/cs_a1B2c3D4e5F6g7H8i9J0kLmN"
    "?key=Qm9uam91ciBsZSBtb25kZSwgY2VjaSBlc3QgdW4gZXhlbXBsZQ",
    "client_secret": "Qm9uam91ciBsZSBtb25kZSwgY2VjaSBlc3QgdW4gZXhlbXBsZQ",
    "success_url": "https://shop.example.com/welcome",
    "cancel_url": "https://shop.example.com/pricing",
    "subscription": None,
    "test_clock": None,
    "purpose": "subscription",
    "permission_request": {
        "eip712": typed_data(
            Delegation(
                delegate=_DELEGATE,
                delegator=_CUSTOMER_ADDRESS,
                authority=ROOT_AUTHORITY,
                caveats=[],
                salt=1767225600,
            ),
            chain_id=84532,
            delegation_manager=_DELEGATION_MANAGER,
        ),
        "erc7715": _ERC7715_EXAMPLE,
        "terms": {
            "token": "USDC",
            "token_address": _USDC_BASE_SEPOLIA,
            "amount_per_period": "19990000",
            "period_seconds": 2592000,
            "start": 1767225600,
            "expires": 1798761600,
            "payee": _PAYEE,
            "delegate": _DELEGATE,
        },
    },
}


NetworkKey = Annotated[StorableStr, StringConstraints(min_length=1, max_length=40)]
TokenSymbol = Annotated[StorableStr, StringConstraints(min_length=1, max_length=16)]
ObjectId = Annotated[StorableStr, StringConstraints(min_length=1, max_length=100)]
# What a session sells and offers; payment links take the same, for the sessions they open.
Quantity = Annotated[int, Field(ge=1, le=10_000)]
AcceptedNetworks = Annotated[list[NetworkKey], Field(min_length=1, max_length=16)]
AcceptedTokens = Annotated[list[TokenSymbol], Field(min_length=1, max_length=8)]


def _checksum(value: str | None) -> str | None:
    return None if value is None else str(Web3.to_checksum_address(value))


class CheckoutSessionCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
                    "networks": ["base-sepolia", "sepolia"],
                    "tokens": ["USDC"],
                    "success_url": "https://shop.example.com/welcome",
                    "cancel_url": "https://shop.example.com/pricing",
                },
                {
                    "price": "price_1MoBy5LkdIwHu7ixZhnattbh",
                    "quantity": 1,
                    "customer_address": _CUSTOMER_ADDRESS,
                    "network": "base-sepolia",
                    "token": "USDC",
                    "success_url": "https://shop.example.com/welcome",
                    "cancel_url": "https://shop.example.com/pricing",
                },
            ]
        }
    )

    price: ObjectId
    quantity: Quantity = 1
    networks: AcceptedNetworks | None = Field(
        default=None,
        description="The networks the customer may pay on (keys from `GET /v1/networks`). "
        "Default: every network of this mode with a payout address.",
    )
    tokens: AcceptedTokens | None = Field(
        default=None,
        description='The tokens the customer may pay with, e.g. `["USDC", "USDT"]`. '
        "Default: every token the accepted networks carry.",
    )
    customer_address: Address | None = Field(
        default=None,
        description="The wallet that will grant the permission and pay (a 7702-upgraded EOA or a "
        "smart account), when you know it; the session is then for that wallet only. Leave it "
        "out for a link any customer can use: the wallet is given when the session is prepared.",
    )
    customer_email: Email | None = Field(
        default=None,
        description="The customer's email, when you know it: given to the customer when the "
        "session completes, unless they already have one.",
    )
    network: NetworkKey | None = Field(
        default=None,
        description="Pick one network (alone, it narrows `networks` to it). With "
        "`customer_address` and a determined token the session is prepared at once.",
    )
    token: TokenSymbol | None = Field(
        default=None,
        description="Pick one token, `USDC` or `USDT` (alone, it narrows `tokens` to it).",
    )
    success_url: Url | None = None
    cancel_url: Url | None = None
    test_clock: ObjectId | None = Field(
        default=None,
        description="Test mode: a test clock id. The terms are computed at the clock's time and "
        "the subscription lives by it.",
    )
    coupon: ObjectId | None = Field(
        default=None,
        description="A coupon for the subscription's discount. Checked now (valid, currency, "
        "redeem_by, max_redemptions) and redeemed when the session completes. The permission's "
        "amount per period stays the undiscounted price.",
    )

    _checksum_address = field_validator("customer_address")(_checksum)


class CheckoutSessionPrepare(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"customer_address": _CUSTOMER_ADDRESS, "network": "base-sepolia", "token": "USDC"}
            ]
        }
    )

    customer_address: Address | None = Field(
        default=None,
        description="The paying wallet; required unless the session was created for one.",
    )
    network: NetworkKey | None = Field(
        default=None,
        description="One of the session's `accepted_networks`; may be left out when it has one.",
    )
    token: TokenSymbol | None = Field(
        default=None,
        description="One of the session's `accepted_tokens` carried by `network`; may be left out "
        "when there is one.",
    )

    _checksum_address = field_validator("customer_address")(_checksum)


HexBytes = Annotated[str, StringConstraints(pattern=r"^0x(?:[0-9a-fA-F]{2})*$")]
# A permission context is abi.encode(Delegation[]): 64 KiB is far beyond any real chain of them.
MAX_CONTEXT_HEX = 2 + 2 * 64 * 1024


class GrantDependency(RequestModel):
    """A deployment the account needs first (ERC-7715 ``dependencies``): a counterfactual smart
    account's factory and calldata."""

    factory: Address
    factoryData: Annotated[HexBytes, StringConstraints(max_length=MAX_CONTEXT_HEX)]


class Erc7715Grant(RequestModel):
    """One item of a ``wallet_requestExecutionPermissions`` answer, as the wallet returns it.

    The fields the server relies on are typed here; whatever else a wallet adds (``signer``,
    ``expiry``, ``isAdjustmentAllowed`` …) is accepted and ignored: the terms that count are the
    ones decoded from ``context`` and checked against the session.
    """

    model_config = ConfigDict(extra="allow")

    # The wallet's own (camelCase) field names.
    context: Annotated[HexBytes, StringConstraints(min_length=4, max_length=MAX_CONTEXT_HEX)]
    delegationManager: Address
    chainId: (
        Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{1,16}$")]
        | Annotated[int, Field(ge=1, le=2**63 - 1)]
        | None
    ) = None
    permission: dict[str, Any] | None = None
    dependencies: list[GrantDependency] = Field(default_factory=list, max_length=8)


class CheckoutSessionComplete(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"signature": "0x" + "4f1c8a2b9d3e7f60" * 8 + "1b"},
                {
                    "grant": {
                        **_ERC7715_EXAMPLE,
                        "context": "0x" + "00" * 32,
                        "delegationManager": _DELEGATION_MANAGER,
                    }
                },
            ]
        }
    )

    signature: HexSignature | None = Field(
        default=None,
        description="The customer's 65-byte EIP-712 signature (0x-hex) over "
        "`permission_request.eip712`.",
    )
    grant: Erc7715Grant | None = Field(
        default=None,
        description="Or: the wallet's answer to `permission_request.erc7715` (an item of the "
        "`wallet_requestExecutionPermissions` result, with `context` and `delegationManager`).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CheckoutSessionComplete:
        if (self.signature is None) == (self.grant is None):
            raise ValueError("send exactly one of `signature` or `grant`")
        return self


class PermissionTerms(BaseModel):
    token: str
    token_address: str
    amount_per_period: str = Field(description="Token base units, decimal string.")
    period_seconds: int
    start: int
    expires: int
    payee: str
    delegate: str


class PermissionRequest(BaseModel):
    eip712: dict[str, Any] = Field(
        description="The `eth_signTypedData_v4` payload: the root delegation to sign "
        "(7702-upgraded or smart accounts)."
    )
    erc7715: dict[str, Any] = Field(
        description="One item of `wallet_requestExecutionPermissions` params: the same terms as an "
        "ERC-7715 `erc20-token-periodic` request, for wallets with MetaMask Advanced Permissions."
    )
    terms: PermissionTerms


class CheckoutSession(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CHECKOUT_SESSION_EXAMPLE]})

    id: str
    object: Literal["checkout.session"] = "checkout.session"
    status: str
    livemode: bool
    created: int
    expires_at: int
    price: str
    quantity: int
    amount_total: int = Field(description="Per period, in USD cents.")
    currency: Literal["usd"] = "usd"
    accepted_networks: list[str] = Field(description="The networks the customer may pay on.")
    accepted_tokens: list[str] = Field(description="The tokens the customer may pay with.")
    network: str | None = Field(description="The chosen network; null until prepared.")
    chain_id: int | None
    token: str | None = Field(description="The chosen token; null until prepared.")
    customer_address: str | None = Field(
        description="The paying wallet; null until given at creation or when prepared."
    )
    customer_email: str | None = Field(
        default=None, description="The customer's email given at creation, if any."
    )
    url: str = Field(
        description="The hosted checkout page to send the customer to: it needs no API key, its "
        "`key` (the client secret) opens this one session and nothing else."
    )
    client_secret: str = Field(
        description="The secret that scopes a browser to this one session (the `key` of `url`); "
        "derived from the session's id under the deployment's hosted-page secret, so it is the "
        "same every time the session is read."
    )
    success_url: str | None
    cancel_url: str | None
    subscription: str | None
    test_clock: str | None = None
    purpose: Literal["subscription", "subscription_update"] = Field(
        default="subscription",
        description="`subscription`: completing it creates the subscription. "
        "`subscription_update`: a larger permission for `subscription`'s pending price change; "
        "completing it applies the change under the new permission (the old one is no longer "
        "charged; the customer may revoke it on-chain).",
    )
    permission_request: PermissionRequest | None = Field(
        description="What the customer's wallet must grant; null until the session is prepared "
        "(`POST /v1/checkout/sessions/{id}/prepare`) with wallet, network and token."
    )

    @classmethod
    def from_model(
        cls,
        checkout: CheckoutSessionModel,
        *,
        permission_request: PermissionRequest | None,
        base_url: str,
        hosted_secret: bytes,
    ) -> CheckoutSession:
        return cls(
            id=checkout.id,
            status=checkout.status.value,
            livemode=checkout.mode.value == "live",
            created=to_unix(checkout.created_at),
            expires_at=to_unix(checkout.expires_at),
            price=checkout.price_id,
            quantity=checkout.quantity,
            amount_total=checkout.amount_cents,
            accepted_networks=list(checkout.accepted_networks),
            accepted_tokens=list(checkout.accepted_tokens),
            network=checkout.network,
            chain_id=checkout.chain_id,
            token=checkout.token_symbol,
            customer_address=checkout.customer_address,
            customer_email=checkout.customer_email,
            url=checkout_page_url(base_url, checkout.id, secret=hosted_secret),
            client_secret=checkout_client_secret(checkout.id, secret=hosted_secret),
            success_url=checkout.success_url,
            cancel_url=checkout.cancel_url,
            subscription=checkout.subscription_id,
            test_clock=checkout.test_clock_id,
            purpose=checkout.purpose.value,
            permission_request=permission_request,
        )
