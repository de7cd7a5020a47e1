"""Response bodies of ``/v1/networks`` and ``/v1/tokens``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from cyphera.chain.models import Network as NetworkValue
from cyphera.chain.models import Token as TokenValue
from cyphera.kit.text import StorableStr

_TOKEN_EXAMPLE: JsonDict = {
    "object": "token",
    "address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    "chain_id": 84532,
    "decimals": 6,
    "network": "base-sepolia",
    "symbol": "USDC",
}
_NETWORK_EXAMPLE: JsonDict = {
    "id": "base-sepolia",
    "object": "network",
    "block_time_seconds": 2.0,
    "chain_id": 84532,
    "confirmations": 2,
    "delegation_manager": "0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3",
    "explorer_url": "https://sepolia.basescan.org",
    "is_testnet": True,
    "key": "base-sepolia",
    "name": "Base Sepolia",
    "native_symbol": "ETH",
    "tokens": [
        {
            "object": "token",
            "address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "chain_id": 84532,
            "decimals": 6,
            "network": "base-sepolia",
            "symbol": "USDC",
        }
    ],
}


class Token(BaseModel):
    """A stablecoin Cyphera accepts on one network."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TOKEN_EXAMPLE]})

    object: Literal["token"] = "token"
    address: str = Field(description="The token contract, EIP-55 checksummed.")
    chain_id: int
    decimals: int
    network: str = Field(description="The network key.")
    symbol: str

    @classmethod
    def from_value(cls, network: NetworkValue, token: TokenValue) -> Token:
        return cls(
            address=token.address,
            chain_id=network.chain_id,
            decimals=token.decimals,
            network=network.key,
            symbol=token.symbol,
        )


class Network(BaseModel):
    """A chain Cyphera bills on. Test keys see testnets (and the local chain), live keys mainnets."""

    model_config = ConfigDict(json_schema_extra={"examples": [_NETWORK_EXAMPLE]})

    id: str = Field(description="The network key, as used by checkout and payout addresses.")
    object: Literal["network"] = "network"
    block_time_seconds: float
    chain_id: int
    confirmations: int = Field(
        description="Blocks (counting the including one) before a payment counts as final."
    )
    delegation_manager: str = Field(
        description="The MetaMask Delegation Framework's DelegationManager on this chain."
    )
    explorer_url: str | None
    is_testnet: bool
    key: str
    name: str
    native_symbol: str
    tokens: list[Token]

    @classmethod
    def from_value(cls, network: NetworkValue) -> Network:
        return cls(
            id=network.key,
            block_time_seconds=network.block_time_seconds,
            chain_id=network.chain_id,
            confirmations=network.confirmations,
            delegation_manager=network.framework.delegation_manager,
            explorer_url=network.explorer_url,
            is_testnet=network.is_testnet,
            key=network.key,
            name=network.name,
            native_symbol=network.native_symbol,
            tokens=[Token.from_value(network, t) for t in network.tokens.values()],
        )


class TokenListParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: Annotated[StorableStr, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Only the tokens of this network."
    )
    symbol: Annotated[StorableStr, StringConstraints(max_length=16)] | None = Field(
        default=None, description="Only this token (`USDC`, `USDT`)."
    )
