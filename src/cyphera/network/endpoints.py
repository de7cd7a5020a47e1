"""``/v1/networks`` and ``/v1/tokens``: where and in what a workspace can be paid.

Not tenant data (every workspace sees the same registry) but still behind an API key, and split
by mode like everything else: test keys see the testnets and the local chain, live keys the
mainnets. A network of the other mode is ``404 resource_missing``, as checkout would refuse it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cyphera.auth.dependencies import AuthDep
from cyphera.chain.models import Network as NetworkValue
from cyphera.chain.networks import NetworkRegistry
from cyphera.exceptions import NotFound
from cyphera.kit.pagination import ListObject
from cyphera.models.mixins import Mode
from cyphera.network.dependencies import NetworkRegistryDep
from cyphera.network.schemas import Network, Token, TokenListParams

router = APIRouter()

NETWORKS = "/v1/networks"
TOKENS = "/v1/tokens"


def networks_for_mode(registry: NetworkRegistry, mode: Mode) -> list[NetworkValue]:
    """The networks a key of `mode` may use, in the registry's order."""
    return [n for n in registry if n.is_testnet == (mode is Mode.TEST)]


@router.get(
    NETWORKS,
    tags=["Networks"],
    summary="List networks",
    description="Every network of the key's mode, with its accepted tokens; never paged.",
)
async def list_networks(auth: AuthDep, registry: NetworkRegistryDep) -> ListObject[Network]:
    return ListObject[Network](
        data=[Network.from_value(n) for n in networks_for_mode(registry, auth.mode)],
        has_more=False,
        url=NETWORKS,
    )


@router.get(NETWORKS + "/{key}", tags=["Networks"], summary="Retrieve a network")
async def get_network(
    auth: AuthDep,
    registry: NetworkRegistryDep,
    key: Annotated[str, Path(description="ethereum, base, base-sepolia, local, …", max_length=40)],
) -> Network:
    for network in networks_for_mode(registry, auth.mode):
        if network.key == key:
            return Network.from_value(network)
    world = "test" if auth.mode is Mode.TEST else "live"
    raise NotFound(f"No such network in {world} mode: {key!r}", param="key")


@router.get(
    TOKENS,
    tags=["Networks"],
    summary="List tokens",
    description="The accepted tokens of every network of the key's mode, one entry per network "
    "and token; never paged.",
)
async def list_tokens(
    params: Annotated[TokenListParams, Query()], auth: AuthDep, registry: NetworkRegistryDep
) -> ListObject[Token]:
    tokens = [
        Token.from_value(network, token)
        for network in networks_for_mode(registry, auth.mode)
        if params.network is None or network.key == params.network
        for token in network.tokens.values()
        if params.symbol is None or token.symbol == params.symbol
    ]
    return ListObject[Token](data=tokens, has_more=False, url=TOKENS)
