"""The network registry as a FastAPI dependency, for edges below the payment domain.

`cyphera.payment.dependencies.RegistryDep` is the same thing, but the import-linter layers make
`permission`, `invoice` and `payment` independent siblings: the permission endpoints and the
hosted invoice page may not import the payment package, directly or through this one. Both
dependencies read the one registry `cyphera.api.app.create_app` puts on ``app.state``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cyphera.chain.networks import NetworkRegistry
from cyphera.exceptions import Unavailable


def get_registry(request: Request) -> NetworkRegistry:
    registry = getattr(request.app.state, "registry", None)
    if not isinstance(registry, NetworkRegistry):
        raise Unavailable("no network registry is configured on this server")
    return registry


NetworkRegistryDep = Annotated[NetworkRegistry, Depends(get_registry)]
