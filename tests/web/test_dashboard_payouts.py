"""Payout addresses from the dashboard: a network of the other mode is refused by the service,
whatever the form names, and the page says why next to the form; nothing is stored."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.models import PayoutAddress
from tests.auth.signin import new_wallet, owner_of_new_workspace
from tests.web.dashboard_session import csrf_of, dashboard, error_code


async def _payouts(sessionmaker: async_sessionmaker[AsyncSession], ws: str) -> int:
    async with sessionmaker() as db:
        count = await db.scalar(
            select(func.count()).select_from(PayoutAddress).where(PayoutAddress.workspace_id == ws)
        )
        return int(count or 0)


@pytest.mark.parametrize(
    ("mode", "network"),
    [("test", "base"), ("test", "ethereum"), ("live", "base-sepolia"), ("live", "local")],
)
async def test_a_forged_network_of_the_other_mode_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    api_server: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    mode: str,
    network: str,
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    async with dashboard(api_server, owner) as page:
        shown = await page.get(f"/dashboard/{ws}/{mode}/payouts")
        assert f'value="{network}"' not in shown.text  # the page never offers it

        refused = await page.post(
            f"/dashboard/{ws}/{mode}/payouts",
            data={
                "csrf_token": csrf_of(shown),
                "network": network,
                "address": new_wallet().address,
            },
        )

    assert refused.status_code == 400
    assert error_code(refused) == "network_mode_mismatch"
    assert 'aria-invalid="true"' in refused.text  # the network field is marked
    assert await _payouts(sessionmaker, ws) == 0


async def test_a_network_of_the_page_mode_is_saved(
    client: httpx.AsyncClient, api_server: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner, ws = await owner_of_new_workspace(client, "Acme")
    async with dashboard(api_server, owner) as page:
        shown = await page.get(f"/dashboard/{ws}/live/payouts")
        saved = await page.post(
            f"/dashboard/{ws}/live/payouts",
            data={"csrf_token": csrf_of(shown), "network": "base", "address": new_wallet().address},
        )

    assert saved.status_code == 303
    assert await _payouts(sessionmaker, ws) == 1
