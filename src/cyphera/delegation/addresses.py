"""Where the Delegation Framework lives on one chain.

The library never assumes a set of addresses: production chains use MetaMask's published v1.3.0
deployment, the local chain uses whatever the local deploy produced. The chain registry
(`cyphera.chain`) builds one of these per network and hands it to the library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FrameworkAddresses:
    """Checksummed addresses of one deployment of the Delegation Framework.

    `enforcers` maps the contract name used by MetaMask's artifacts (for example
    ``"ERC20PeriodTransferEnforcer"``) to that chain's address.
    """

    delegation_manager: str
    entry_point: str
    simple_factory: str
    hybrid_delegator_impl: str
    eip7702_stateless_delegator_impl: str
    enforcers: Mapping[str, str] = field(default_factory=dict)

    def enforcer(self, name: str) -> str:
        """The address of enforcer `name`; `KeyError` names the missing contract."""
        try:
            return self.enforcers[name]
        except KeyError:
            raise KeyError(f"no {name} in this deployment") from None
