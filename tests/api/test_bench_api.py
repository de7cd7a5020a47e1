"""`make bench-api` at a small size, against this test's database: it runs wrk and reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_api.py"


def test_the_api_benchmark_runs_wrk_and_prints_its_table(database_url: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--seconds",
            "1",
            "--workers",
            "1",
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
    assert lines[0].startswith("| 64 connections, 1 API workers, 1 s each | req/s |")
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in lines[2:]}
    assert list(rows) == ["GET /healthz", "GET /v1/prices?limit=10", "GET /v1/prices/{id}"]
    for name, (rps, _p50, _p99, errors) in rows.items():
        assert float(rps) > 0, name
        assert errors.rstrip(" |") == "0", name  # every answer 2xx: the key and ids worked
