from __future__ import annotations

import subprocess
import sys


def test_putting_the_recursion_limit_back_turns_a_crash_into_a_recursion_error() -> None:
    script = (
        "import json, sys\n"
        "import cyphera.cli  # imports py_ecc, which raises the limit to 100,000\n"
        "from cyphera.kit.process import reset_recursion_limit\n"
        "assert sys.getrecursionlimit() >= 100_000\n"
        "reset_recursion_limit()\n"
        "try:\n"
        "    json.loads('[' * 1_000_000)\n"
        "except RecursionError:\n"
        "    print('RecursionError')\n"
    )

    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )

    assert (finished.returncode, finished.stdout.strip()) == (0, "RecursionError"), finished
