"""How fast the dashboard's subscription list is with many subscriptions in one workspace.

Run it with ``make bench-lists`` (``uv run --frozen python scripts/bench_lists.py``; ``--subscriptions``
sets the size, 100,000 by default). Without ``--database-url`` it starts a private PostgreSQL
cluster in a temporary folder and migrates it. It writes one workspace with that many customers
and subscriptions (plain SQL, ``generate_series``; wallet addresses of decimal digits only,
which are their own EIP-55 checksum), an owner and a signed-in session, then asks the
real app, in process (ASGI), for dashboard pages and times each request end to end on the server
side — authentication, queries and rendering: the first page, a page deep in the list
(``starting_after``), a status filter and a wallet search. Each figure is the median of
``--repeat`` requests after one warm-up; the query plan of the first page is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from cyphera.api.app import create_app
from cyphera.auth.keys import hash_secret
from cyphera.config import DatabaseSettings, Environment, Settings
from cyphera.db.cluster import LocalCluster, free_port
from cyphera.db.migrate import upgrade

WORKSPACE = "ws_bench000000000000000000"
TOKEN = "sess_" + "b" * 40
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def seed(url: str, count: int) -> str:
    """One workspace with `count` subscriptions; returns a subscription id half-way down."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "INSERT INTO workspaces (id, name, invoice_sequence, created_at, updated_at) "
            "VALUES (%s, 'Bench', 0, %s, %s)",
            (WORKSPACE, NOW, NOW),
        )
        db.execute(
            "INSERT INTO accounts (id, wallet_address, created_at, updated_at) "
            "VALUES ('acct_bench', '0x00000000000000000000000000000000000b3nch', %s, %s)",
            (NOW, NOW),
        )
        db.execute(
            "INSERT INTO members (id, workspace_id, account_id, role, created_at, updated_at) "
            "VALUES ('mem_bench', %s, 'acct_bench', 'owner', %s, %s)",
            (WORKSPACE, NOW, NOW),
        )
        db.execute(
            "INSERT INTO account_sessions (id, account_id, method, token_hash, expires_at, "
            "created_at, updated_at) VALUES ('ses_bench', 'acct_bench', 'siwe', %s, %s, %s, %s)",
            (hash_secret(TOKEN), NOW + timedelta(days=3650), NOW, NOW),
        )
        db.execute(
            "INSERT INTO products (id, workspace_id, mode, name, active, metadata, created_at, "
            "updated_at) VALUES ('prod_bench', %s, 'test', 'Pro plan', true, '{}', %s, %s)",
            (WORKSPACE, NOW, NOW),
        )
        db.execute(
            "INSERT INTO prices (id, workspace_id, mode, product_id, type, unit_amount, currency, "
            "recurring_interval, recurring_interval_count, active, metadata, created_at, "
            "updated_at) VALUES ('price_bench', %s, 'test', 'prod_bench', 'recurring', 1999, "
            "'usd', 'month', 1, true, '{}', %s, %s)",
            (WORKSPACE, NOW, NOW),
        )
        db.execute(
            "INSERT INTO customers (id, workspace_id, mode, address, metadata, created_at, "
            "updated_at) SELECT 'cus_b' || i, %s, 'test', "
            "'0x' || lpad(i::text, 40, '0'), '{}', %s - i * interval '1 second', %s "
            "FROM generate_series(1, %s) AS i",
            (WORKSPACE, NOW, NOW, count),
        )
        db.execute(
            "INSERT INTO subscriptions (id, workspace_id, mode, customer_id, price_id, quantity, "
            "status, billing_anchor, period_index, current_period_start, current_period_end, "
            "cancel_at_period_end, created_at, updated_at) "
            "SELECT 'sub_b' || i, %s, 'test', 'cus_b' || i, 'price_bench', 1, "
            "(ARRAY['active','active','active','past_due','canceled','trialing'])[1 + i %% 6]"
            "::subscription_status, %s, 0, %s, %s + interval '1 month', false, "
            "%s - i * interval '1 second', %s FROM generate_series(1, %s) AS i",
            (WORKSPACE, NOW, NOW, NOW, NOW, NOW, count),
        )
        db.execute("ANALYZE")
        plan = db.execute(
            "EXPLAIN SELECT * FROM subscriptions WHERE workspace_id = %s AND mode = 'test' "
            "ORDER BY created_at DESC, id DESC LIMIT 26",
            (WORKSPACE,),
        ).fetchall()
    print("first page's plan:", file=sys.stderr)
    for (line,) in plan:
        print(f"  {line}", file=sys.stderr)
    return f"sub_b{count // 2}"


async def measure(database_url: str, middle: str, repeat: int) -> dict[str, float]:
    settings = Settings(
        environment=Environment.TEST,
        database=DatabaseSettings(url=database_url, pool_size=2),  # type: ignore[arg-type]
    )
    app = create_app(settings)
    base = f"/dashboard/{WORKSPACE}/test/subscriptions"
    pages = {
        "first page": base,
        "a page half-way (starting_after)": f"{base}?starting_after={middle}",
        "status filter (past_due)": f"{base}?status=past_due",
        "wallet search": f"{base}?q=0x{int(middle.removeprefix('sub_b')):040d}",
    }
    timings: dict[str, float] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://127.0.0.1:8000",
            cookies={"cyphera_dashboard": TOKEN},
        ) as client,
    ):
        for name, path in pages.items():
            samples = []
            for run in range(repeat + 1):
                started = time.perf_counter()
                response = await client.get(path)
                elapsed = time.perf_counter() - started
                if response.status_code != 200 or "data-subscriptions" not in response.text:
                    raise SystemExit(
                        f"{path} answered {response.status_code}: {response.text[:300]}"
                    )
                if run:  # the first request warms the pool and the caches
                    samples.append(elapsed)
            timings[name] = statistics.median(samples) * 1000
    return timings


@contextmanager
def private_database(given: str | None) -> Iterator[str]:
    """`given` (an empty, migrated database), or a private cluster's fresh one, dropped after."""
    if given is not None:
        yield given
        return
    print("starting a private PostgreSQL cluster…", file=sys.stderr)
    base = Path(tempfile.mkdtemp(prefix="cyphera-bench-pg-"))
    base.chmod(0o755)  # as root, the server runs as postgres
    cluster = LocalCluster(data_dir=base / "data", port=free_port())
    try:
        cluster.init()
        cluster.start()
        cluster.ensure_database("bench")
        url = cluster.url("bench", driver="psycopg")
        upgrade(url)
        yield url
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="an empty, migrated database (psycopg URL)")
    args = parser.parse_args(argv)
    with private_database(args.database_url) as url:
        print(f"writing {args.subscriptions:,} subscriptions…", file=sys.stderr)
        started = time.perf_counter()
        middle = seed(url.replace("postgresql+psycopg://", "postgresql://"), args.subscriptions)
        print(f"  written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        timings = asyncio.run(measure(url, middle, args.repeat))
    print(
        f"| dashboard subscriptions page, {args.subscriptions:,} in the workspace | server ms (median) |"
    )
    print("|---|---|")
    for name, ms in timings.items():
        print(f"| {name} | {ms:.1f} |")
    print(f"slowest page: {max(timings.values()):.1f} ms (target: well under 200 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
