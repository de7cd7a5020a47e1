"""Every endpoint, called with a key of another tenant, finds nothing of the owner's and changes nothing.

The endpoint list comes from the OpenAPI document, so an endpoint added later without an entry in
`CALLS` fails `test_every_endpoint_is_covered` until its tenancy is tested here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cyphera.models.mixins import Mode
from tests.fixtures.api import MakeApiKey, MakeWorkspace, WorkspaceKeys

OWNER_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
INTRUDER_ADDRESS = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
NETWORK = "base"

Owned = dict[str, str]


@dataclass(frozen=True)
class Call:
    """How an intruder calls one endpoint, and what it must get."""

    expect: int  # 404 for the owner's objects; 200 where the call acts on the caller's own data
    path_params: Callable[[Owned], dict[str, str]] = lambda owned: {}
    body: Callable[[Owned], dict[str, Any]] | None = None
    is_list: bool = False


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/v1/products"): Call(expect=200, is_list=True),
    ("POST", "/v1/products"): Call(expect=200, body=lambda owned: {"name": "Mine"}),
    ("GET", "/v1/products/{product_id}"): Call(
        expect=404, path_params=lambda owned: {"product_id": owned["product"]}
    ),
    ("POST", "/v1/products/{product_id}"): Call(
        expect=404,
        path_params=lambda owned: {"product_id": owned["product"]},
        body=lambda owned: {"name": "Hijacked", "active": False},
    ),
    ("GET", "/v1/prices"): Call(expect=200, is_list=True),
    ("POST", "/v1/prices"): Call(
        expect=404,
        body=lambda owned: {
            "product": owned["product"],
            "unit_amount": 1,
            "currency": "usd",
            "recurring": {"interval": "day"},
        },
    ),
    ("GET", "/v1/prices/{price_id}"): Call(
        expect=404, path_params=lambda owned: {"price_id": owned["price"]}
    ),
    ("POST", "/v1/prices/{price_id}"): Call(
        expect=404,
        path_params=lambda owned: {"price_id": owned["price"]},
        body=lambda owned: {"active": False, "metadata": {"hijacked": "yes"}},
    ),
    ("GET", "/v1/payout_addresses"): Call(expect=200, is_list=True),
    ("GET", "/v1/payout_addresses/{network}"): Call(
        expect=404, path_params=lambda owned: {"network": NETWORK}
    ),
    # Sets the caller's own address for the network; the owner's must stay as it was.
    ("POST", "/v1/payout_addresses/{network}"): Call(
        expect=200,
        path_params=lambda owned: {"network": NETWORK},
        body=lambda owned: {"address": INTRUDER_ADDRESS},
    ),
}


async def _v1_operations(client: httpx.AsyncClient) -> set[tuple[str, str]]:
    document = (await client.get("/openapi.json")).json()
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


async def test_every_endpoint_is_covered(client: httpx.AsyncClient) -> None:
    operations = await _v1_operations(client)

    missing = sorted(operations - set(CALLS))
    assert not missing, f"add tenancy cases to CALLS for: {missing}"
    assert not set(CALLS) - operations


async def _owner_objects(api: httpx.AsyncClient) -> Owned:
    product = (await api.post("/v1/products", json={"name": "Owner's"})).json()
    price = (
        await api.post(
            "/v1/prices",
            json={
                "product": product["id"],
                "unit_amount": 1999,
                "currency": "usd",
                "recurring": {"interval": "month"},
            },
        )
    ).json()
    payout = (
        await api.post(f"/v1/payout_addresses/{NETWORK}", json={"address": OWNER_ADDRESS})
    ).json()
    return {"product": product["id"], "price": price["id"], "payout": payout["id"]}


async def _owner_view(api: httpx.AsyncClient) -> list[Any]:
    return [
        (await api.get(path)).json()
        for path in ("/v1/products", "/v1/prices", "/v1/payout_addresses")
    ]


@pytest.mark.parametrize("intruder", ["other_workspace", "same_workspace_live_mode"])
async def test_another_tenant_gets_404_and_changes_nothing(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    make_workspace: MakeWorkspace,
    make_api_key: MakeApiKey,
    intruder: str,
) -> None:
    owned = await _owner_objects(api)
    before = await _owner_view(api)
    if intruder == "other_workspace":
        intruder_key = (await make_workspace("Intruder")).secret_key
    else:
        intruder_key = await make_api_key(workspace.workspace_id, mode=Mode.LIVE)
    headers = {"Authorization": f"Bearer {intruder_key}"}

    for (method, template), call in CALLS.items():
        path = template.format(**call.path_params(owned))
        body = call.body(owned) if call.body else None
        response = await client.request(method, path, json=body, headers=headers)

        assert response.status_code == call.expect, (method, path, response.text)
        if call.expect == 404:
            assert response.json()["error"]["code"] == "resource_missing", (method, path)
        if call.is_list:
            assert not set(owned.values()) & {o["id"] for o in response.json()["data"]}

    assert await _owner_view(api) == before
