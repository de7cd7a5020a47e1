"""Permissions granted the way checkout stores them: a signed delegation carrying our caveats,
validated by `validate_periodic_grant`, stored by the permission service (no chain needed)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from eth_account import Account
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.customer import service as customers
from cyphera.delegation import (
    ROOT_AUTHORITY,
    Delegation,
    default_periodic_caveats,
    encode_permission_context,
    sign_delegation,
    validate_periodic_grant,
)
from cyphera.kit.clock import to_unix
from cyphera.models import Permission
from cyphera.models.mixins import Mode
from cyphera.models.permission import PermissionSource
from cyphera.permission import service as permissions

NETWORK_KEY = "base-sepolia"
REDEEMER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PAYEE = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
PERIOD_SECONDS = 28 * 86_400
PERIOD_AMOUNT = 19_990_000  # $19.99 of a 6-decimal stablecoin


def public_registry() -> NetworkRegistry:
    """The public networks, as the API server under test loads them (same artifacts)."""
    return load_registry(None, {})


@dataclass(frozen=True)
class Grant:
    permission: Permission
    customer_key: str
    context: bytes
    start: int
    expiry: int


async def grant_permission(
    session: AsyncSession,
    *,
    workspace_id: str,
    network: Network,
    now: datetime,
    mode: Mode = Mode.TEST,
    period_amount: int = PERIOD_AMOUNT,
    lifetime: timedelta = timedelta(days=365),
    include_value_lte: bool = False,
    customer_key: str | None = None,
) -> Grant:
    """A customer wallet grants `period_amount` of USDC per 28 days to `PAYEE`, on `network`."""
    account = Account.from_key(customer_key) if customer_key else Account.create()
    token = network.token("USDC")
    start = to_unix(now) - 900
    expiry = to_unix(now + lifetime)
    caveats = default_periodic_caveats(
        network.framework,
        token=token.address,
        period_amount=period_amount,
        period_duration=PERIOD_SECONDS,
        start_date=start,
        expiry=expiry,
        payee=PAYEE,
        include_value_lte=include_value_lte,
    )
    unsigned = Delegation(
        delegate=REDEEMER,
        delegator=account.address,
        authority=ROOT_AUTHORITY,
        caveats=caveats,
        salt=secrets.randbits(64),
    )
    signed = sign_delegation(
        unsigned,
        account.key,
        chain_id=network.chain_id,
        delegation_manager=network.framework.delegation_manager,
    )
    context = encode_permission_context([signed])
    validated = validate_periodic_grant(
        context,
        chain_id=network.chain_id,
        framework=network.framework,
        redeemer=REDEEMER,
        token=token.address,
        period_amount=period_amount,
        period_duration=PERIOD_SECONDS,
        payee=PAYEE,
        not_after_expiry=expiry,
        now=to_unix(now),
        delegator=account.address,
        require_signature_match=True,
    )
    customer = await customers.get_or_create_by_address(
        session, workspace_id=workspace_id, mode=mode, address=account.address
    )
    permission = await permissions.store(
        session,
        customer=customer,
        network=network.key,
        token=token,
        validated=validated,
        source=PermissionSource.EIP712,
    )
    return Grant(
        permission=permission,
        customer_key=account.key.hex(),
        context=context,
        start=start,
        expiry=expiry,
    )
