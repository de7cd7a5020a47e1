"""`make bench-renewals` at a small size: real anvil, signer and worker; it runs and reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_renewals.py"


def test_the_renewal_benchmark_charges_every_renewal_and_prints_its_table(
    database_url: str,
) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--subscriptions", "6", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    print(done.stdout)  # noqa: T201 - the figures, seen with -s
    lines = done.stdout.splitlines()
    assert lines[0].startswith("| 6 subscriptions, worker concurrency 8")
    assert "6/6 subscribed" in done.stderr
    assert "6/6 paid" in done.stderr  # first charges, then renewals: both printed
    assert done.stderr.count("6/6 paid") == 2
    assert lines[-1].startswith("renewals: 6 in ")
