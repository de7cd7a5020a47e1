"""What one scheduler tick costs when nothing is due, with many subscriptions in the table.

Run it with ``make bench-scheduler`` (``uv run --frozen python scripts/bench_scheduler.py``;
``--subscriptions`` sets the size, 1,000,000 by default). Without ``--database-url`` it starts a
private PostgreSQL cluster in a temporary folder and migrates it. It writes that many
subscriptions (``scripts/bench_lists.py``'s seed: one workspace, plain SQL), none due for a month,
then times, as the worker runs them every minute, the renewal query (`billing.renew_all_due`)
and every other periodic lifecycle step (`scheduler.PERIODIC_STEPS`), each a median of
``--repeat`` runs after one warm-up, and prints the renewal query's plan (``EXPLAIN ANALYZE``):
the figure must not grow with the table, only with what is due.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy.dialects import postgresql

from cyphera.config import DatabaseSettings
from cyphera.db.engine import create_engine, create_sessionmaker
from cyphera.kit.clock import FrozenClock
from cyphera.subscription import billing, scheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lists import NOW, private_database, seed

TICK_AT = NOW + timedelta(days=1)  # the seed's periods end a month after NOW: nothing is due


async def measure(database_url: str, repeat: int) -> dict[str, float]:
    engine = create_engine(DatabaseSettings(url=database_url, pool_size=2))  # type: ignore[arg-type]
    sessionmaker = create_sessionmaker(engine)
    clock = FrozenClock(TICK_AT)
    steps = {"renewals (billing.renew_all_due)": billing.renew_all_due, **scheduler.PERIODIC_STEPS}
    timings: dict[str, float] = {}
    try:
        for name, step in steps.items():
            samples = []
            for run in range(repeat + 1):
                started = time.perf_counter()
                done = await step(sessionmaker, clock=clock)
                elapsed = time.perf_counter() - started
                if done:
                    raise SystemExit(f"{name} found work to do ({done!r}): the seed is wrong")
                if run:  # the first run warms the pool and the statement cache
                    samples.append(elapsed)
            timings[name] = statistics.median(samples) * 1000
    finally:
        await engine.dispose()
    return timings


def renewal_plan(url: str) -> list[str]:
    statement = billing.due_for_renewal(TICK_AT, 200, None).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    with psycopg.connect(url) as db:
        rows = db.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}").fetchall()  # type: ignore[call-overload]
    return [line for (line,) in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="an empty, migrated database (psycopg URL)")
    args = parser.parse_args(argv)
    with private_database(args.database_url) as url:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        print(f"writing {args.subscriptions:,} subscriptions…", file=sys.stderr)
        started = time.perf_counter()
        seed(plain, args.subscriptions)
        print(f"  written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        timings = asyncio.run(measure(url, args.repeat))
        plan = renewal_plan(plain)
    print("renewal query's plan:", file=sys.stderr)
    for line in plan:
        print(f"  {line}", file=sys.stderr)
    print(f"| scheduler step, {args.subscriptions:,} subscriptions, none due | ms (median) |")
    print("|---|---|")
    for name, ms in timings.items():
        print(f"| {name} | {ms:.2f} |")
    print(f"one tick, every step: {sum(timings.values()):.1f} ms (target: renewals ≤ 10 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
