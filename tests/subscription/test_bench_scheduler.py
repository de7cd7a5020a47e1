"""`make bench-scheduler` at a small size, against this test's database: it runs and reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_scheduler.py"


def test_the_scheduler_benchmark_runs_and_prints_every_step(database_url: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--subscriptions",
            "2000",
            "--repeat",
            "2",
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    print(done.stdout)  # noqa: T201 - the figures, seen with -s
    lines = done.stdout.splitlines()
    assert lines[0] == "| scheduler step, 2,000 subscriptions, none due | ms (median) |"
    assert [line.split(" | ")[0].lstrip("| ") for line in lines[2:-1]] == [
        "renewals (billing.renew_all_due)",
        "subscription.expire_incomplete",
        "subscription.notify_trials_ending",
        "subscription.resume_due",
        "subscription.retry_due",
        "subscription.expire_pending_updates",
    ]
    # The renewal query reads an index on the period end, never the whole table
    assert "Index Scan using ix_subscriptions_" in done.stderr
    assert "Seq Scan on subscriptions" not in done.stderr
    assert lines[-1].startswith("one tick, every step: ")
