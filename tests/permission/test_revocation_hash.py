"""``permissions.revocation_hash`` is the hash of the customer's own delegation, the root of the
context (what ``disableDelegation`` disables and ``DisabledDelegation`` names): the same as
``delegation_hash`` for one delegation, not for a longer chain; and migration 0016 fills it for
permissions stored before it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.db.migrate import alembic_config, upgrade
from cyphera.delegation import ROOT_AUTHORITY, Delegation, hash_delegation
from cyphera.delegation.encoding import decode_permission_context, encode_permission_context
from cyphera.models import Permission
from cyphera.permission.service import revocation_hash
from tests.fixtures.api import WorkspaceKeys
from tests.permission.grants import NETWORK_KEY, REDEEMER, grant_permission, public_registry

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def test_the_root_delegations_hash_is_stored_and_backfilled(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str, workspace: WorkspaceKeys
) -> None:
    network = public_registry().get(NETWORK_KEY)
    async with transaction(sessionmaker) as session:
        grant = await grant_permission(
            session, workspace_id=workspace.workspace_id, network=network, now=NOW
        )
    [signed] = decode_permission_context(grant.context)
    assert signed.authority == ROOT_AUTHORITY
    assert grant.permission.revocation_hash == "0x" + hash_delegation(signed).hex()
    assert grant.permission.revocation_hash == grant.permission.delegation_hash

    # A chain: the customer's root delegation to an intermediary, redelegated to us
    intermediary = "0x00000000000000000000000000000000000000aa"
    root = Delegation(
        delegate=intermediary,
        delegator=signed.delegator,
        authority=ROOT_AUTHORITY,
        caveats=signed.caveats,
        salt=signed.salt,
    )
    leaf = Delegation(
        delegate=REDEEMER,
        delegator=intermediary,
        authority=hash_delegation(root),
        caveats=(),
        salt=1,
    )
    chained = encode_permission_context([leaf, root])
    root_hash = "0x" + hash_delegation(root).hex()
    assert revocation_hash(chained) == root_hash
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(Permission)
            .where(Permission.id == grant.permission.id)
            .values(context=chained, revocation_hash="0x")
        )

    # Migrating down past 0016 and up again fills it from the stored context
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0015")
    await asyncio.to_thread(upgrade, database_url)
    async with sessionmaker() as session:
        stored = await session.get_one(Permission, grant.permission.id)
        assert stored.revocation_hash == root_hash
        assert stored.revocation_hash != stored.delegation_hash
