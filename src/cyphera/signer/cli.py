"""``cyphera signer``: run the signer, or make an encrypted relayer keystore.

cyphera signer                       serve, configured from CYPHERA_SIGNER_* (see config.py)
cyphera signer create-keystore PATH  a new relayer key, encrypted; prints only its address
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account

from cyphera.config import Environment
from cyphera.kit.logs import configure_logging, secret_values
from cyphera.kit.process import reset_recursion_limit
from cyphera.signer.config import SignerSettings
from cyphera.signer.server import serve

app = typer.Typer(
    help="The signer: the only process holding relayer keys.",
    invoke_without_command=True,
    add_completion=False,
)


@app.callback()
def main(ctx: typer.Context) -> None:
    """Serve the signer's gRPC API until SIGTERM or Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    settings = SignerSettings()
    reset_recursion_limit()  # py_ecc raised it at import (`cyphera.kit.process`)
    # The signer's own lines stay stdlib logging (dotted event names, key=value fields); they are
    # rendered and redacted like every process's (`cyphera.kit.logs`).
    configure_logging(
        level=settings.log_level,
        console=settings.environment is Environment.DEVELOPMENT,
        secrets=secret_values(settings),
    )
    asyncio.run(serve(settings))


@app.command("create-keystore")
def create_keystore(
    path: Annotated[Path, typer.Argument(help="Where to write the encrypted JSON keystore.")],
) -> None:
    """Generate a relayer key and write it encrypted (scrypt) to PATH; print its address only."""
    if path.exists():
        typer.echo(f"{path} exists; refusing to overwrite a key", err=True)
        raise typer.Exit(1)
    password = typer.prompt("Keystore password", hide_input=True, confirmation_prompt=True)
    account = Account.create()
    keystore = Account.encrypt(account.key, password)
    # Owner-only from the first byte: the file is never world-readable, even briefly.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(keystore, handle)
    typer.echo(f"relayer address {account.address}")
    typer.echo(
        f"set CYPHERA_SIGNER_RELAYER_KEYSTORE_PATH={path} and CYPHERA_SIGNER_RELAYER_KEYSTORE_PASSWORD"
    )
