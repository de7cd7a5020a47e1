"""``cyphera reconcile``: the report, progress on stderr, and exit codes 0 (the books match),
1 (a finding), 2 (bad input) — against anvil and the test's database, as from a shell."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from cyphera.cli import app as cli
from cyphera.db.engine import transaction
from cyphera.kit.clock import from_unix
from cyphera.models import Payment
from tests.fixtures.api import WorkspaceKeys
from tests.fixtures.platform import PRICE_UNITS, Platform
from tests.reconciliation.helpers import charged

runner = CliRunner()


async def _invoke(platform: Platform, *args: str) -> tuple[int, str, str]:
    # In a thread: the command runs its own event loop (asyncio.run), as from a shell.
    result = await asyncio.to_thread(
        runner.invoke, cli, ["reconcile", *args, "--database-url", platform.database_url]
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def local_chain_env(platform: Platform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command finds the local chain as `make dev` leaves it: a deploy record and its RPC."""
    record = tmp_path / "local-deployment.json"
    platform.chain.deployment.save(record)
    monkeypatch.setenv("CYPHERA_CHAIN__LOCAL_DEPLOYMENT", str(record))
    monkeypatch.setenv("CYPHERA_RPC_LOCAL", platform.chain.rpc_url)


@pytest.mark.usefixtures("local_chain_env")
async def test_the_report_and_its_exit_codes(platform: Platform, workspace: WorkspaceKeys) -> None:
    given = await charged(platform, workspace)
    head = platform.chain.w3.eth.block_number

    # When the books match: the range, the counts, exit 0, a progress line per range
    code, out, err = await _invoke(platform, "--network", "local", "--since", "0")
    assert code == 0, err
    assert f"blocks scanned:    0–{head} (safe head {head})" in out
    assert "transfers seen:    1" in out
    assert "payments compared: 1" in out
    assert "matched:           1" in out
    assert out.rstrip().endswith("the books match the chain")
    assert f"blocks 0–{head}: 1 transfer(s), 1 payment(s), 0 finding(s)" in err

    # From a date: the first block at or after it, found on the chain
    block = given.payment.block_number
    assert block is not None
    at = from_unix(int(platform.chain.w3.eth.get_block(block)["timestamp"]))
    code, out, err = await _invoke(
        platform, "--network", "local", "--since", at.isoformat(), "--until", str(block)
    )
    assert code == 0, err
    [found] = [line for line in err.splitlines() if "→ block" in line]
    first = int(found.rsplit(" ", 1)[1])
    assert first <= block
    assert int(platform.chain.w3.eth.get_block(first)["timestamp"]) >= int(at.timestamp())
    assert "matched:           1" in out

    # When the books differ: each finding in the table, exit 1
    async with transaction(platform.sessionmaker) as db:
        await db.execute(
            update(Payment).where(Payment.id == given.payment.id).values(amount=PRICE_UNITS - 1)
        )
    code, out, err = await _invoke(platform, "--network", "local", "--since", str(block))
    assert code == 1, err
    assert "findings:          1" in out
    header, row = out.splitlines()[-2:]
    assert header.split()[:7] == ["KIND", "TX", "LOG", "EXPECTED", "SEEN", "PAYMENT", "INVOICE"]
    assert row.split()[0] == "amount_mismatch"
    assert str(PRICE_UNITS - 1) in row.split()
    assert str(PRICE_UNITS) in row.split()
    assert given.payment.id in row.split()


@pytest.mark.usefixtures("local_chain_env")
async def test_bad_input_exits_2_and_says_what_is_known(platform: Platform) -> None:
    head = platform.chain.w3.eth.block_number
    future = from_unix(platform.chain.latest_timestamp()) + timedelta(days=1)
    cases = {
        ("--network", "nowhere", "--since", "0"): "known: ",
        ("--network", "local", "--since", "last tuesday"): "neither a block number",
        ("--network", "local", "--since", str(head + 1)): "after the safe head",
        ("--network", "local", "--since", "3", "--until", "2"): "the range is empty",
        ("--network", "local", "--since", future.isoformat()): "no block of local",
    }
    for args, message in cases.items():
        code, out, err = await _invoke(platform, *args)
        assert (code, out) == (2, ""), args
        assert message in err, args
    _, _, unknown = await _invoke(platform, "--network", "nowhere", "--since", "0")
    assert "local" in unknown.split("known: ")[1]
