"""Schemathesis over the whole OpenAPI document: no input makes the API answer with a 5xx.

Runs the schemathesis CLI against the real server (uvicorn, real signer, anvil, PostgreSQL) with a
valid test key, so generated requests reach the handlers instead of stopping at authentication.
Both positive data (valid by the schema) and negative data (violating it: wrong types, NUL bytes,
out-of-range numbers, missing fields) are sent: whatever a caller sends, the answer is never 5xx.
The example count per operation is bounded to keep the run short; the seed is fixed so a failure
reproduces.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import Platform

EXAMPLES_PER_OPERATION = 15


async def test_no_generated_request_gets_a_server_error(
    platform: Platform, workspace: WorkspaceKeys
) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    process = await asyncio.create_subprocess_exec(
        str(cli),
        "run",
        f"{platform.api_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--header",
        f"Authorization: Bearer {workspace.secret_key}",
        "--mode",
        "all",
        "--generation-allow-x00",
        "true",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261128",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", text)
    assert summary is not None, text[-6000:]
    assert int(summary.group(1)) > 0
    assert summary.group(1) == summary.group(2), text[-6000:]
