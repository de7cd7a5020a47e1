"""FastAPI dependencies for the endpoints that reach the chain: the registry and the signer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.networks import NetworkRegistry
from cyphera.exceptions import Unavailable
from cyphera.payment.gateway import ChargeGateway


def get_registry(request: Request) -> NetworkRegistry:
    registry = getattr(request.app.state, "registry", None)
    if not isinstance(registry, NetworkRegistry):
        raise Unavailable("no network registry is configured on this server")
    return registry


def get_gateway(request: Request) -> ChargeGateway:
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise Unavailable("the signer is not configured on this server; try again later")
    return gateway  # type: ignore[no-any-return]


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


RegistryDep = Annotated[NetworkRegistry, Depends(get_registry)]
GatewayDep = Annotated[ChargeGateway, Depends(get_gateway)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
