"""Every ``/v1`` answer is ``no-store`` and ``nosniff``: they carry tenant data and secrets shown
once, which no cache may keep (issue #17). Errors, replays and 500s included."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from cyphera.api.app import create_app
from cyphera.config import Settings
from cyphera.kit.clock import FrozenClock
from tests.auth.signin import owner_of_new_workspace, sign_in
from tests.fixtures.api import WorkspaceKeys, serve

URL = "https://hooks.example.com/cyphera"


def _assert_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store", response.request.url
    assert response.headers["x-content-type-options"] == "nosniff", response.request.url


async def test_answers_carrying_a_secret_shown_once_are_not_cacheable(
    client: httpx.AsyncClient, workspace: WorkspaceKeys
) -> None:
    keyed = {**workspace.headers, "Idempotency-Key": "headers-1"}
    webhook = await client.post(
        "/v1/webhook_endpoints",
        json={"url": URL, "enabled_events": ["invoice.paid"]},
        headers=keyed,
    )
    replayed = await client.post(
        "/v1/webhook_endpoints",
        json={"url": URL, "enabled_events": ["invoice.paid"]},
        headers=keyed,
    )
    nonce = await client.post("/v1/auth/siwe/nonce")
    owner, workspace_id = await owner_of_new_workspace(client)
    api_key = await client.post(
        "/v1/api_keys",
        json={"name": "CI", "mode": "test"},
        headers=owner.headers(workspace_id),
    )
    signed_in = await sign_in(client)
    account = await client.get("/v1/account", headers=signed_in.headers())

    assert webhook.json()["secret"].startswith("whsec_")
    assert replayed.headers["idempotent-replayed"] == "true"
    assert api_key.status_code == 200, api_key.text
    for response in (webhook, replayed, nonce, api_key, account):
        _assert_private(response)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/v1/products", {}, 401),
        ("GET", "/v1/nothing_here", {"auth": True}, 404),
        ("DELETE", "/v1/prices", {"auth": True}, 405),
        ("POST", "/v1/products", {"auth": True, "json": {}}, 400),
        ("POST", "/v1/products", {"auth": True, "content": b"[" * 300}, 400),
        ("POST", "/v1/products", {"auth": True, "content": b"x" * (1024 * 1024 + 1)}, 413),
        ("GET", "/v1/products/%00", {"auth": True}, 400),
        ("GET", "/v1", {}, 404),
    ],
)
async def test_errors_are_not_cacheable_either(
    client: httpx.AsyncClient,
    workspace: WorkspaceKeys,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
) -> None:
    headers = workspace.headers if kwargs.pop("auth", False) else {}

    response = await client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]

    assert response.status_code == status
    _assert_private(response)


async def test_a_500_is_not_cacheable(
    api_settings: Settings, api_clock: FrozenClock, workspace: WorkspaceKeys
) -> None:
    app = create_app(api_settings, clock=api_clock)
    _add_crashing_route(app)

    with serve(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            crash = await http.get("/v1/test-crash")

    assert crash.status_code == 500
    _assert_private(crash)


async def test_outside_v1_only_nosniff_is_added(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    spec = await client.get("/openapi.json")

    for response in (health, spec):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "cache-control" not in response.headers


def _add_crashing_route(app: FastAPI) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/v1/test-crash", crash, methods=["GET"])
