"""`make bench-lists` at a small size, against this test's database: it runs and reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_lists.py"


def test_the_list_benchmark_runs_and_prints_its_table(database_url: str) -> None:
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
    assert lines[0].startswith("| dashboard subscriptions page, 2,000 in the workspace")
    assert {line.split(" | ")[0].lstrip("| ") for line in lines[2:6]} == {
        "first page",
        "a page half-way (starting_after)",
        "status filter (past_due)",
        "wallet search",
    }
    assert "Index Scan Backward using ix_subscriptions_tenant_created" in done.stderr
    assert lines[-1].startswith("slowest page: ")
