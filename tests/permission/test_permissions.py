from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.delegation import hash_delegation
from cyphera.delegation.encoding import decode_permission_context
from cyphera.kit.clock import FrozenClock, to_unix
from cyphera.models import Permission
from cyphera.models.mixins import Mode
from cyphera.models.permission import PermissionStatus
from tests.fixtures.api import WorkspaceKeys
from tests.permission.grants import (
    NETWORK_KEY,
    PAYEE,
    PERIOD_AMOUNT,
    PERIOD_SECONDS,
    REDEEMER,
    Grant,
    grant_permission,
    public_registry,
)

REGISTRY = public_registry()
NETWORK = REGISTRY.get(NETWORK_KEY)
USDC = NETWORK.token("USDC")
ENFORCERS = NETWORK.framework.enforcers


async def _grant(
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    clock: FrozenClock,
    **kwargs: Any,
) -> Grant:
    async with transaction(sessionmaker) as session:
        return await grant_permission(
            session, workspace_id=workspace.workspace_id, network=NETWORK, now=clock.now(), **kwargs
        )


async def _set(
    sessionmaker: async_sessionmaker[AsyncSession], permission_id: str, **values: Any
) -> None:
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(Permission).where(Permission.id == permission_id).values(**values)
        )


async def test_a_granted_permission_reads_back_decoded_from_its_signed_context(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock)
    permission = grant.permission
    [delegation] = decode_permission_context(grant.context)

    response = await api.get(f"/v1/permissions/{permission.id}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "id": permission.id,
        "object": "permission",
        "account": delegation.delegator,
        "caveats": [
            {
                "delegation": 0,
                "enforcer": ENFORCERS["TimestampEnforcer"],
                "enforcer_name": "TimestampEnforcer",
                "type": "timestamp",
                "terms": {"after": 0, "before": grant.expiry},
            },
            {
                "delegation": 0,
                "enforcer": ENFORCERS["ERC20PeriodTransferEnforcer"],
                "enforcer_name": "ERC20PeriodTransferEnforcer",
                "type": "erc20_period_transfer",
                "terms": {
                    "token": USDC.address,
                    "period_amount": str(PERIOD_AMOUNT),
                    "period_duration": PERIOD_SECONDS,
                    "start_date": grant.start,
                },
            },
            {
                "delegation": 0,
                "enforcer": ENFORCERS["AllowedCalldataEnforcer"],
                "enforcer_name": "AllowedCalldataEnforcer",
                "type": "payee",
                "terms": {"payee": PAYEE},
            },
        ],
        "chain_id": NETWORK.chain_id,
        "created": body["created"],
        "customer": permission.customer_id,
        "delegate": REDEEMER,
        "delegation_hash": "0x" + hash_delegation(delegation).hex(),
        "delegation_manager": NETWORK.framework.delegation_manager,
        "livemode": False,
        "network": NETWORK_KEY,
        "revoked_at": None,
        "replaced_by": None,
        "source": "eip712",
        "status": "active",
        "terms": {
            "token": "USDC",
            "token_address": USDC.address,
            "token_decimals": 6,
            "amount_per_period": "19990000",
            "amount_per_period_cents": 1999,
            "period_seconds": PERIOD_SECONDS,
            "start": grant.start,
            "expires": grant.expiry,
            "payee": PAYEE,
        },
        "verified": True,
    }
    assert body["customer"].startswith("cus_")
    assert body["id"].startswith("perm_")


async def test_a_value_lte_caveat_is_decoded_too(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock, include_value_lte=True)

    body = (await api.get(f"/v1/permissions/{grant.permission.id}")).json()

    assert body["caveats"][-1] == {
        "delegation": 0,
        "enforcer": ENFORCERS["ValueLteEnforcer"],
        "enforcer_name": "ValueLteEnforcer",
        "type": "value_lte",
        "terms": {"max_value": "0"},
    }
    assert [c["type"] for c in body["caveats"]] == [
        "timestamp",
        "erc20_period_transfer",
        "payee",
        "value_lte",
    ]
    assert body["verified"] is True


async def test_an_amount_that_is_not_whole_cents_has_no_cents_figure(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock, period_amount=19_990_001)

    terms = (await api.get(f"/v1/permissions/{grant.permission.id}")).json()["terms"]

    assert terms["amount_per_period"] == "19990001"
    assert terms["amount_per_period_cents"] is None


async def test_a_permission_past_its_expiry_is_expired_though_its_row_says_active(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock, lifetime=timedelta(days=30))
    permission_id = grant.permission.id

    api_clock.set(grant.permission.expires_at - timedelta(seconds=1))
    just_before = (await api.get(f"/v1/permissions/{permission_id}")).json()
    active_before = (await api.get("/v1/permissions", params={"status": "active"})).json()
    api_clock.set(grant.permission.expires_at)
    at_expiry = (await api.get(f"/v1/permissions/{permission_id}")).json()
    active_after = (await api.get("/v1/permissions", params={"status": "active"})).json()
    expired_after = (await api.get("/v1/permissions", params={"status": "expired"})).json()

    assert just_before["status"] == "active"
    assert [p["id"] for p in active_before["data"]] == [permission_id]
    assert at_expiry["status"] == "expired"
    assert active_after["data"] == []
    assert [p["id"] for p in expired_after["data"]] == [permission_id]
    async with sessionmaker() as session:
        row = await session.get_one(Permission, permission_id)
        assert row.status is PermissionStatus.ACTIVE  # reading never writes


@pytest.mark.parametrize("status", [PermissionStatus.REVOKED, PermissionStatus.EXHAUSTED])
async def test_revoked_and_exhausted_permissions_show_and_filter_by_their_status(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
    status: PermissionStatus,
) -> None:
    ended = await _grant(sessionmaker, workspace, api_clock)
    active = await _grant(sessionmaker, workspace, api_clock)
    revoked_at = api_clock.now()
    await _set(sessionmaker, ended.permission.id, status=status, revoked_at=revoked_at)

    shown = (await api.get(f"/v1/permissions/{ended.permission.id}")).json()
    listed = (await api.get("/v1/permissions", params={"status": status.value})).json()
    still_active = (await api.get("/v1/permissions", params={"status": "active"})).json()

    assert shown["status"] == status.value
    assert shown["revoked_at"] == to_unix(revoked_at)
    assert [p["id"] for p in listed["data"]] == [ended.permission.id]
    assert [p["id"] for p in still_active["data"]] == [active.permission.id]


async def test_list_filters_by_customer_and_network(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    first = await _grant(sessionmaker, workspace, api_clock)
    again = await _grant(sessionmaker, workspace, api_clock, customer_key=first.customer_key)
    other = await _grant(sessionmaker, workspace, api_clock)

    everything = (await api.get("/v1/permissions")).json()
    of_first = (
        await api.get("/v1/permissions", params={"customer": first.permission.customer_id})
    ).json()
    on_network = (await api.get("/v1/permissions", params={"network": NETWORK_KEY})).json()
    elsewhere = (await api.get("/v1/permissions", params={"network": "sepolia"})).json()

    assert everything["object"] == "list"
    assert everything["url"] == "/v1/permissions"
    assert {p["id"] for p in everything["data"]} == {
        first.permission.id,
        again.permission.id,
        other.permission.id,
    }
    assert first.permission.customer_id == again.permission.customer_id
    assert {p["id"] for p in of_first["data"]} == {first.permission.id, again.permission.id}
    assert len(on_network["data"]) == 3
    assert elsewhere["data"] == []


async def test_pages_through_permissions(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    for _ in range(5):
        await _grant(sessionmaker, workspace, api_clock)
    everything = [p["id"] for p in (await api.get("/v1/permissions")).json()["data"]]

    first = (await api.get("/v1/permissions", params={"limit": 2})).json()
    second = (
        await api.get("/v1/permissions", params={"limit": 2, "starting_after": everything[1]})
    ).json()
    last = (
        await api.get("/v1/permissions", params={"limit": 2, "starting_after": everything[3]})
    ).json()

    assert len(everything) == 5
    assert [p["id"] for p in first["data"]] == everything[:2]
    assert first["has_more"] is True
    assert [p["id"] for p in second["data"]] == everything[2:4]
    assert [p["id"] for p in last["data"]] == everything[4:]
    assert last["has_more"] is False


async def test_terms_come_from_the_context_when_the_columns_disagree(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock)
    await _set(
        sessionmaker, grant.permission.id, period_amount=10**30, payee=REDEEMER, token_symbol="XXX"
    )

    body = (await api.get(f"/v1/permissions/{grant.permission.id}")).json()

    assert body["terms"]["amount_per_period"] == str(PERIOD_AMOUNT)
    assert body["terms"]["payee"] == PAYEE
    assert body["terms"]["token"] == "USDC"
    assert body["verified"] is False


@pytest.mark.parametrize("context", [b"", b"\x00" * 31, b"\xff" * 64])
async def test_an_undecodable_context_falls_back_to_the_columns_unverified(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
    context: bytes,
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock)
    await _set(sessionmaker, grant.permission.id, context=context)

    response = await api.get(f"/v1/permissions/{grant.permission.id}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["caveats"] == []
    assert body["verified"] is False
    assert body["terms"]["amount_per_period"] == str(PERIOD_AMOUNT)
    assert body["terms"]["expires"] == grant.expiry


async def test_caveats_on_a_network_the_server_does_not_know_are_shown_raw(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock)
    [delegation] = decode_permission_context(grant.context)
    await _set(sessionmaker, grant.permission.id, network="retired-chain")

    body = (await api.get(f"/v1/permissions/{grant.permission.id}")).json()

    assert body["caveats"] == [
        {
            "delegation": 0,
            "enforcer": caveat.enforcer,
            "enforcer_name": None,
            "type": "unknown",
            "terms": {"raw": "0x" + caveat.terms.hex()},
        }
        for caveat in delegation.caveats
    ]
    assert body["verified"] is False
    assert body["terms"]["amount_per_period"] == str(PERIOD_AMOUNT)


async def test_live_mode_permissions_are_not_seen_with_a_test_key(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
) -> None:
    live = await _grant(sessionmaker, workspace, api_clock, mode=Mode.LIVE)

    listed = (await api.get("/v1/permissions")).json()
    retrieved = await api.get(f"/v1/permissions/{live.permission.id}")

    assert listed["data"] == []
    assert retrieved.status_code == 404


async def test_an_unknown_permission_is_404_resource_missing(api: httpx.AsyncClient) -> None:
    for permission_id in (
        "perm_doesnotexist",
        "nonsense",
        "cus_abc",
        "perm_" + "x" * 70,
        "perm_a-b",
    ):
        response = await api.get(f"/v1/permissions/{permission_id}")

        assert response.status_code == 404, permission_id
        assert response.json()["error"]["code"] == "resource_missing"
        assert response.json()["error"]["param"] == "id"


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"status": "paused"}, "parameter_invalid", "status"),
        ({"status": "ACTIVE"}, "parameter_invalid", "status"),
        ({"network": "n" * 41}, "parameter_invalid", "network"),
        ({"customer": "c" * 101}, "parameter_invalid", "customer"),
        ({"limit": str(2**64)}, "parameter_invalid", "limit"),
        ({"limit": "1.5"}, "parameter_invalid", "limit"),
        ({"account": "0x00"}, "parameter_unknown", "account"),
    ],
)
async def test_invalid_list_parameters_are_400(
    api: httpx.AsyncClient, params: dict[str, str], code: str, param: str
) -> None:
    response = await api.get("/v1/permissions", params=params)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["param"] == param


async def test_permissions_cannot_be_written_through_the_api(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/permissions", json={"account": REDEEMER})

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "column", [{"account": PAYEE}, {"delegate": PAYEE}, {"delegation_hash": "0x" + "00" * 32}]
)
async def test_a_context_of_another_account_delegate_or_hash_is_unverified(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    workspace: WorkspaceKeys,
    api_clock: FrozenClock,
    column: dict[str, str],
) -> None:
    grant = await _grant(sessionmaker, workspace, api_clock)
    await _set(sessionmaker, grant.permission.id, **column)

    body = (await api.get(f"/v1/permissions/{grant.permission.id}")).json()

    assert body["verified"] is False
    assert body["terms"]["amount_per_period"] == str(PERIOD_AMOUNT)
