"""The values the network registry hands out: `Network` and `Token`.

Kept apart from the registry (`cyphera.chain.networks`) and the local deploy record
(`cyphera.chain.local`) so both can build them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cyphera.chain.errors import NetworkNotFound
from cyphera.delegation.addresses import FrameworkAddresses


@dataclass(frozen=True, slots=True)
class Token:
    """An ERC-20 the platform accepts on one network. `address` is checksummed."""

    symbol: str
    address: str
    decimals: int


@dataclass(frozen=True, slots=True)
class Network:
    """Everything the platform needs to know about one chain.

    ``confirmations`` is the number of blocks, counting the one that includes a transaction, that
    must exist before its receipt counts: a transaction in block ``b`` is final enough when
    ``head - b + 1 >= confirmations``. ``block_time_seconds`` is the nominal block interval, for
    polling and for estimating how long confirmation takes.
    """

    key: str
    name: str
    chain_id: int
    is_testnet: bool
    native_symbol: str
    block_time_seconds: float
    confirmations: int
    rpc_urls: tuple[str, ...]
    explorer_url: str | None
    framework: FrameworkAddresses
    tokens: Mapping[str, Token] = field(default_factory=lambda: MappingProxyType({}))

    def __hash__(self) -> int:
        # The generated hash would fail on the mappings; key and chain id identify a network.
        return hash((self.key, self.chain_id))

    @property
    def is_local(self) -> bool:
        """Whether this is the local development chain (anvil)."""
        return self.key == "local"

    def token(self, symbol: str) -> Token:
        """The token `symbol` (for example ``"USDC"``) on this network."""
        try:
            return self.tokens[symbol]
        except KeyError:
            known = ", ".join(sorted(self.tokens)) or "none"
            raise NetworkNotFound(
                f"{self.name} has no {symbol} token configured (known: {known})", param="token"
            ) from None

    def token_by_address(self, address: str) -> Token | None:
        """The configured token at `address` (any letter case), if there is one."""
        wanted = address.lower()
        return next((t for t in self.tokens.values() if t.address.lower() == wanted), None)

    def confirmation_seconds(self) -> float:
        """Roughly how long a transaction takes to reach ``confirmations``."""
        return self.confirmations * self.block_time_seconds

    def explorer_tx_url(self, tx_hash: str) -> str | None:
        """A block-explorer link to a transaction, when the network has an explorer."""
        return f"{self.explorer_url}/tx/{tx_hash}" if self.explorer_url else None

    def explorer_address_url(self, address: str) -> str | None:
        """A block-explorer link to an address, when the network has an explorer."""
        return f"{self.explorer_url}/address/{address}" if self.explorer_url else None
