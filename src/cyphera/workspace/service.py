"""Workspaces and payout addresses.

API keys belong to `cyphera.auth.service` (issue, list, revoke, authenticate); creating a workspace
issues its first test-mode secret key through it.
"""

from __future__ import annotations

from typing import NamedTuple

import structlog
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope
from cyphera.auth.service import issue_api_key
from cyphera.chain.local import LOCAL_NETWORK_KEY
from cyphera.chain.networks import MAINNET_NETWORK_KEYS, PUBLIC_NETWORK_KEYS
from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import Clock, system_clock
from cyphera.kit.ids import new_id
from cyphera.models.mixins import Mode
from cyphera.models.payout_address import PayoutAddress
from cyphera.models.workspace import Workspace
from cyphera.workspace.errors import (
    AddressInvalid,
    NetworkOfOtherMode,
    NetworkUnsupported,
    PayoutAddressMissing,
)
from cyphera.workspace.repository import PayoutAddressRepository, WorkspaceRepository

WORKSPACE_ID_PREFIX = "ws"
MAX_NAME_LENGTH = 200
PAYOUT_NETWORKS: tuple[str, ...] = (*PUBLIC_NETWORK_KEYS, LOCAL_NETWORK_KEY)
"""Network keys a payout address may be set for (the network registry's keys)."""
_ZERO_ADDRESS = "0x" + "0" * 40

log = structlog.get_logger(__name__)


class CreatedWorkspace(NamedTuple):
    workspace: Workspace
    secret_key: str
    """The workspace's first test-mode secret key, in plaintext: shown once, stored only hashed."""


async def create_workspace(
    session: AsyncSession, *, name: str, clock: Clock = system_clock
) -> CreatedWorkspace:
    """Create a workspace named `name` and its first test-mode secret key (``sk_test_…``)."""
    workspace = await new_workspace(session, name=name, clock=clock)
    issued = await issue_api_key(
        session, workspace_id=workspace.id, mode=Mode.TEST, name="Default test key", clock=clock
    )
    log.info("workspace.created", workspace_id=workspace.id)
    return CreatedWorkspace(workspace=workspace, secret_key=issued.secret)


async def new_workspace(session: AsyncSession, *, name: str, clock: Clock) -> Workspace:
    """Create a workspace named `name`, with no key and no member (the callers add those)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise InvalidRequest(
            f"a workspace name is 1 to {MAX_NAME_LENGTH} characters",
            code="parameter_invalid",
            param="name",
        )
    now = clock.now()
    workspace = Workspace(
        id=new_id(WORKSPACE_ID_PREFIX),
        name=name,
        invoice_sequence=0,
        created_at=now,
        updated_at=now,
    )
    WorkspaceRepository(session).add(workspace)
    await session.flush()
    return workspace


def normalize_address(address: str, *, param: str = "address") -> str:
    """`address` in EIP-55 checksum form, or `AddressInvalid`.

    A mixed-case address must carry a correct checksum (that is how a mistyped character is
    caught); an all-lower- or all-upper-case one has no checksum to check and is accepted. The
    zero address is refused: funds sent there are burnt.
    """
    if not is_hex_address(address):
        raise AddressInvalid(
            f"{address!r} is not an EVM address (0x followed by 40 hex digits)", param=param
        )
    body = address[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(address):
        raise AddressInvalid(
            f"{address!r} has an invalid EIP-55 checksum: check it for a mistyped character",
            param=param,
        )
    if address.lower() == _ZERO_ADDRESS:
        raise AddressInvalid("the zero address cannot receive payouts", param=param)
    return str(to_checksum_address(address))


def check_payout_network(network: str, mode: Mode) -> str:
    """`network` if payouts can be set on it in `mode`: `NetworkUnsupported` (listing the keys)
    for an unknown one, `NetworkOfOtherMode` for a mainnet in test mode or a testnet in live
    mode (test mode never points real money anywhere, and live mode never a testnet)."""
    if network not in PAYOUT_NETWORKS:
        raise NetworkUnsupported(
            f"unknown network {network!r}; known: {', '.join(PAYOUT_NETWORKS)}", param="network"
        )
    if (network in MAINNET_NETWORK_KEYS) != (mode is Mode.LIVE):
        kind, other = ("a mainnet", "live") if mode is Mode.TEST else ("a testnet", "test")
        raise NetworkOfOtherMode(
            f"{network!r} is {kind}: set its payout address in {other} mode", param="network"
        )
    return network


async def set_payout_address(
    session: AsyncSession, *, scope: Scope, network: str, address: str, clock: Clock
) -> PayoutAddress:
    """Set where the scope's workspace is paid on `network` (creating or replacing it).

    Permissions already granted lock their payee on-chain: they keep paying the address they were
    granted with. The new address applies to permissions granted from now on.
    """
    check_payout_network(network, scope.mode)
    checksummed = normalize_address(address)
    payout = await PayoutAddressRepository(session).upsert(
        scope, network=network, address=checksummed, at=clock.now()
    )
    log.info(
        "payout_address.set",
        workspace_id=scope.workspace_id,
        mode=scope.mode.value,
        network=network,
        address=checksummed,
    )
    return payout


async def list_payout_addresses(session: AsyncSession, *, scope: Scope) -> list[PayoutAddress]:
    """The scope's payout addresses, one per network at most, ordered by network key."""
    return await PayoutAddressRepository(session).list(scope)


async def get_payout_address(session: AsyncSession, *, scope: Scope, network: str) -> PayoutAddress:
    """The scope's payout address on `network`, or `PayoutAddressMissing`."""
    payout = None
    if network in PAYOUT_NETWORKS:
        payout = await PayoutAddressRepository(session).get(scope, network)
    if payout is None:
        raise PayoutAddressMissing(
            f"No payout address set for network {network!r}", param="network"
        )
    return payout
