"""``GET /metrics`` on the API: per-route request counts and latencies under the route's
template, never the raw path; the optional token; several uvicorn workers aggregated."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from cyphera.api.app import create_app
from cyphera.config import MetricsSettings, Settings
from cyphera.kit.clock import FrozenClock
from tests.fixtures.api import WorkspaceKeys, serve
from tests.fixtures.process import ApiProcess
from tests.fixtures.scrape import scrape

REQUESTS = "cyphera_http_requests_total"
DURATION_COUNT = "cyphera_http_request_duration_seconds_count"


async def test_requests_are_counted_per_route_template_and_status(
    api: httpx.AsyncClient, api_server: str, workspace: WorkspaceKeys
) -> None:
    # Given the counts so far (the registry is the process's: other tests' requests are in it)
    before = await scrape(f"{api_server}/metrics")

    # When two unknown prices, the product list and a path no route knows are asked for
    assert (await api.get("/v1/prices/price_doesnotexist1")).status_code == 404
    assert (await api.get("/v1/prices/price_doesnotexist2")).status_code == 404
    assert (await api.get("/v1/products")).status_code == 200
    assert (await api.get("/no/such/path/secret_looking_id")).status_code == 404
    after = await scrape(f"{api_server}/metrics")

    # Then each is counted under its route's template, its method and its status
    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    price = {"method": "GET", "route": "/v1/prices/{price_id}"}
    assert delta(REQUESTS, **price, status="404") == 2
    assert delta(DURATION_COUNT, **price) == 2
    assert delta(REQUESTS, method="GET", route="/v1/products", status="200") == 1
    assert delta(REQUESTS, method="GET", route="unmatched", status="404") == 1
    # And the first scrape itself was counted, under its own route
    assert delta(REQUESTS, method="GET", route="/metrics", status="200") == 1
    # And no id, raw path or key reaches a label
    labels = after.label_values()
    assert not [v for v in labels if "doesnotexist" in v or "secret_looking" in v]
    assert workspace.secret_key not in labels
    assert workspace.workspace_id not in labels


async def test_metrics_are_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths


async def test_a_configured_token_is_required(
    api_settings: Settings, api_clock: FrozenClock
) -> None:
    token = "metrics-token-0123456789abcdef0123456789"
    settings = api_settings.model_copy(update={"metrics": MetricsSettings(token=SecretStr(token))})
    with serve(create_app(settings, clock=api_clock)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            missing = await http.get("/metrics")
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"]["code"] == "metrics_token_invalid"
    assert "cyphera_http_requests_total" not in missing.text + wrong.text
    assert right.status_code == 200
    assert "cyphera_http_requests_total" in right.text


async def test_two_api_workers_answer_every_scrape_with_both_workers_counts(
    database_url: str, tmp_path: Path
) -> None:
    # Given `cyphera api` with two uvicorn workers (its metrics directory goes under TMPDIR)
    env = {
        "CYPHERA_DATABASE__URL": database_url,
        "CYPHERA_API__WORKERS": "2",
        "TMPDIR": str(tmp_path),
    }
    with ApiProcess(env) as api:
        api.wait_for("Application startup complete")  # the second worker
        # When 30 requests arrive on fresh connections (the kernel spreads them over both)
        for _ in range(30):
            async with httpx.AsyncClient(base_url=api.base_url) as http:
                assert (await http.get("/v1/prices/price_x")).status_code == 401
        [directory] = _metrics_directories(tmp_path)

        # Then both workers wrote counts, and any scrape, by either worker, has all 30
        assert len(_counter_writers(directory)) == 2
        for _ in range(6):
            seen = await scrape(f"{api.base_url}/metrics")
            route = {"method": "GET", "route": "/v1/prices/{price_id}"}
            assert seen.value(REQUESTS, **route, status="401") == 30
            assert seen.value(DURATION_COUNT, **route) == 30

    # And the directory is gone with the process
    assert _metrics_directories(tmp_path) == []


def _metrics_directories(root: Path) -> list[Path]:
    return sorted(root.glob("cyphera-metrics-*"))


def _counter_writers(directory: Path) -> set[str]:
    """The processes that wrote counters there (prometheus-client's ``counter_<pid>.db``)."""
    return {path.stem.rsplit("_", 1)[-1] for path in directory.glob("counter_*.db")}
