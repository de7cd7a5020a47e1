"""The API under load: requests per second and latency with 64 connections, measured by wrk.

Run it with ``make bench-api`` (``uv run --frozen python scripts/bench_api.py``). Without
``--database-url`` it starts a private PostgreSQL cluster in a temporary folder and migrates it.
It makes a workspace and its test key (``cyphera workspace create``), starts ``cyphera api`` as a
user would (``--workers`` processes, 2 by default), creates a product and 20 prices through the
API, and points wrk (Debian's ``wrk``) at three URLs in turn, each for ``--seconds``:

- ``GET /healthz`` — no key, no query: the floor the others are compared with;
- ``GET /v1/prices?limit=10`` — an authenticated list;
- ``GET /v1/prices/{id}`` — an authenticated single object.

It prints requests per second, p50 and p99 latency, and errors (non-2xx answers and socket
errors) for each. The API key's rate limit is raised for the run (``100/second`` by default
would turn the measurement into one of the limiter). Target (issue #14): ≥ 1,000 req/s at p99 ≤
50 ms for the authenticated endpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lists import private_database

from cyphera.db.cluster import free_port

CONNECTIONS = 64
THREADS = 2


def _environment(database_url: str, port: int, workers: int) -> dict[str, str]:
    return os.environ | {
        "CYPHERA_ENVIRONMENT": "test",
        "CYPHERA_DATABASE__URL": database_url,
        "CYPHERA_API__PORT": str(port),
        "CYPHERA_API__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CYPHERA_API__WORKERS": str(workers),
        "CYPHERA_AUTH__API_KEY_RATE_LIMIT": "1000000/second",
        "CYPHERA_LOG_LEVEL": "WARNING",
    }


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"cyphera api exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("cyphera api did not answer /healthz within 60 s")


def _prices(base: str, key: str) -> str:
    headers = {"Authorization": f"Bearer {key}"}
    product = httpx.post(f"{base}/v1/products", json={"name": "Bench"}, headers=headers).json()
    price_id = ""
    for amount in range(1000, 3000, 100):
        price = httpx.post(
            f"{base}/v1/prices",
            json={
                "product": product["id"],
                "unit_amount": amount,
                "currency": "usd",
                "recurring": {"interval": "month"},
            },
            headers=headers,
        ).json()
        price_id = price["id"]
    return price_id


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNIT[unit]


def wrk(url: str, *, seconds: int, key: str | None) -> dict[str, float]:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    if key is not None:
        command[1:1] = ["-H", f"Authorization: Bearer {key}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    percentile = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if set(percentile) != {"50", "99"}:
        raise SystemExit(f"wrk printed no latency distribution:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _milliseconds(percentile["50"]),
        "p99": _milliseconds(percentile["99"]),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(n) for n in sockets.groups()) if sockets else 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="an empty, migrated database (psycopg URL)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: `apt-get install wrk` (make bench-api does it as root)")
    with private_database(args.database_url) as database_url:
        port = free_port()
        environment = _environment(database_url, port, args.workers)
        created = subprocess.run(
            ["cyphera", "workspace", "create", "--name", "Bench", "--json"],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        key = json.loads(created.stdout)["secret_key"]
        base = f"http://127.0.0.1:{port}"
        print(f"starting cyphera api with {args.workers} workers…", file=sys.stderr)
        with subprocess.Popen(["cyphera", "api"], env=environment) as api:
            try:
                _wait_until_up(base, api)
                price_id = _prices(base, key)
                runs = {
                    "GET /healthz": wrk(f"{base}/healthz", seconds=args.seconds, key=None),
                    "GET /v1/prices?limit=10": wrk(
                        f"{base}/v1/prices?limit=10", seconds=args.seconds, key=key
                    ),
                    "GET /v1/prices/{id}": wrk(
                        f"{base}/v1/prices/{price_id}", seconds=args.seconds, key=key
                    ),
                }
            finally:
                api.terminate()
                api.wait(timeout=30)
    print(
        f"| {CONNECTIONS} connections, {args.workers} API workers, {args.seconds} s each "
        "| req/s | p50 ms | p99 ms | errors |"
    )
    print("|---|---|---|---|---|")
    for name, run in runs.items():
        print(
            f"| {name} | {run['rps']:.0f} | {run['p50']:.1f} | {run['p99']:.1f} | {run['errors']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
