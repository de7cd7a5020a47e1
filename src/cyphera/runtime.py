"""Shared start-up wiring for the processes: the network registry from settings and environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from cyphera.chain.local import LocalDeployment
from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.config import Settings


def network_registry(settings: Settings, env: Mapping[str, str] | None = None) -> NetworkRegistry:
    """Public networks, plus the local chain when its deploy record exists."""
    path = settings.chain.local_deployment_path(settings.home)
    local = LocalDeployment.load(path) if path.is_file() else None
    return load_registry(local, os.environ if env is None else env)
