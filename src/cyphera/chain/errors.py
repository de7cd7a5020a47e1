"""Errors of the chain package.

Tree (each also subclasses the `cyphera.exceptions` class that gives its ``kind``)::

    ChainError
    ├── ArtifactsMissing      internal     build/ outputs absent or unreadable: run the build
    ├── ToolMissing           internal     node / anvil / node_modules not installed: run `npm ci`
    ├── NetworkNotFound       not_found    no network with that key or chain id in the registry
    ├── NetworkConfigInvalid  invalid      an RPC URL (or other network setting) is malformed
    ├── DevnetError           unavailable  the local chain did not start or refused an RPC call
    ├── ChainUnavailable      unavailable  no RPC endpoint of a network answered a read
    └── DeploymentError       internal     a deploy transaction failed, or a deploy record does not
                                           match the chain it claims to describe
"""

from __future__ import annotations

from cyphera.exceptions import (
    AppError,
    InternalError,
    InvalidRequest,
    NotFound,
    Unavailable,
)


class ChainError(AppError):
    """Root of the errors raised by `cyphera.chain`."""


class ArtifactsMissing(ChainError, InternalError):
    code = "chain_artifacts_missing"


class ToolMissing(ChainError, InternalError):
    code = "chain_tool_missing"


class NetworkNotFound(ChainError, NotFound):
    code = "network_not_found"


class NetworkConfigInvalid(ChainError, InvalidRequest):
    code = "network_config_invalid"


class DevnetError(ChainError, Unavailable):
    code = "devnet_unavailable"


class ChainUnavailable(ChainError, Unavailable):
    code = "chain_unavailable"


class DeploymentError(ChainError, InternalError):
    code = "deployment_failed"
