"""``cyphera reconcile``: an operator compares a network's chain with the books over a range.

    cyphera reconcile --network base-sepolia --since 12345678 [--until 12399999]
    cyphera reconcile --network base --since 2026-12-01            (a date: its first block)

Prints the range scanned (capped at the safe head: blocks inside the confirmation depth wait),
the transfers through our delegations seen, the payments compared, how many matched, and each
finding in a table; a line per range of blocks on stderr shows progress. Findings are recorded
(`cyphera.reconciliation.service`: once per difference) but nothing is corrected and the periodic
job's cursor stays where it is.

Exit codes: 0 the books match, 1 a finding exists, 2 bad input (unknown network, a range with
no block to read, a date in the future, no RPC endpoint), 3 the database or the chain could not
be read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.errors import NetworkNotFound
from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry, rpc_env_var
from cyphera.chain.rpc import ChainRpc
from cyphera.command_database import EXIT_REFUSED, DatabaseUrl, command_database, run_with_database
from cyphera.config import Settings
from cyphera.kit.clock import Clock, system_clock
from cyphera.kit.terminal import table, when
from cyphera.reconciliation.service import Report, first_block_at, reconcile
from cyphera.runtime import network_registry

EXIT_FINDINGS = 1
EXIT_UNAVAILABLE = 3


def reconcile_command(
    network: Annotated[str, typer.Option("--network", help="The network key, e.g. base-sepolia.")],
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="First block: a block number, or an ISO-8601 date/time (UTC unless it says "
            "otherwise) whose first block at or after it is found.",
        ),
    ],
    until: Annotated[
        int | None,
        typer.Option(
            "--until",
            min=0,
            help="Last block (default and at most: the safe head).",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Compare transfers through our delegations with the payments we recorded."""
    settings = Settings()
    registry = network_registry(settings)
    chain = _network(registry, network)
    start = _since(since)
    rpc = ChainRpc(registry)
    if not rpc.urls(chain.chain_id):
        _refuse(f"{chain.key} has no http(s) RPC endpoint: set {rpc_env_var(chain.key)}")
    database = command_database(settings, database_url).database
    report = run_with_database(
        database,
        lambda sessionmaker: _run(
            sessionmaker, rpc, chain, start=start, until=until, clock=system_clock
        ),
        unavailable_exit=EXIT_UNAVAILABLE,
        database_exit=EXIT_UNAVAILABLE,
    )
    typer.echo(render(report))
    raise typer.Exit(0 if report.is_clean else EXIT_FINDINGS)


async def _run(
    sessionmaker: async_sessionmaker[AsyncSession],
    rpc: ChainRpc,
    network: Network,
    *,
    start: int | datetime,
    until: int | None,
    clock: Clock,
) -> Report:
    if isinstance(start, datetime):
        first = await first_block_at(rpc, network, start)
        typer.echo(f"{when(start)} → block {first}", err=True)
    else:
        first = start
    return await reconcile(
        sessionmaker,
        rpc,
        network,
        from_block=first,
        to_block=until,
        clock=clock,
        on_range=_progress,
    )


def _progress(part: Report) -> None:
    typer.echo(
        f"blocks {part.from_block}–{part.to_block}: {part.transfers} transfer(s), "
        f"{part.payments} payment(s), {len(part.findings)} finding(s)",
        err=True,
    )


def render(report: Report) -> str:
    """The report as the command prints it."""
    lines = [
        f"network:           {report.network}",
        f"blocks scanned:    {report.from_block}–{report.to_block} (safe head {report.safe_head})",
        f"transfers seen:    {report.transfers} (through our delegations, to payout addresses)",
        f"payments compared: {report.payments}",
        f"matched:           {report.matched}",
        f"findings:          {len(report.findings)}",
    ]
    if report.is_clean:
        return "\n".join([*lines, "", "the books match the chain"])
    rows = [
        [
            f.finding.kind.value,
            f.finding.tx_hash or "-",
            "-" if f.finding.log_index is None else str(f.finding.log_index),
            _amount(f.finding.amount_expected),
            _amount(f.finding.amount_seen),
            f.finding.payment_id or "-",
            f.finding.invoice_id or "-",
            f"{f.finding.workspace_id} ({f.finding.mode.value})"
            if f.finding.workspace_id and f.finding.mode
            else "-",
            "new" if f.is_new else f"seen {f.finding.times_seen}×",
            f.finding.detail,
        ]
        for f in report.findings
    ]
    header = [
        "KIND",
        "TX",
        "LOG",
        "EXPECTED",
        "SEEN",
        "PAYMENT",
        "INVOICE",
        "WORKSPACE",
        "",
        "DETAIL",
    ]
    return "\n".join([*lines, "", table(header, rows)])


def _amount(value: int | None) -> str:
    return "-" if value is None else str(value)


def _network(registry: NetworkRegistry, key: str) -> Network:
    try:
        return registry.get(key)
    except NetworkNotFound as exc:
        _refuse(exc.message)


def _since(value: str) -> int | datetime:
    """A block number, or a date/time (naive means UTC)."""
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _refuse(f"--since {value!r} is neither a block number nor an ISO-8601 date")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _refuse(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_REFUSED)
