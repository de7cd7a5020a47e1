"""``.cyphera/dev.json``: where a running ``cyphera dev`` listens.

Written once the stack is healthy and removed when it stops, so a command in another terminal of
the same checkout (``cyphera workspace create``) reaches the database that is actually running,
whatever ports ``make dev`` was given. Light on purpose: the CLI imports it at every start.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RECORD_FILE = "dev.json"


def record_path(home: Path) -> Path:
    return home / RECORD_FILE


@dataclass(frozen=True)
class RunningStack:
    """What the record says of a running ``cyphera dev``."""

    pid: int
    database_url: str
    api_url: str
    rpc_url: str

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def find(cls, path: Path) -> RunningStack | None:
        """The record at `path` if its ``cyphera dev`` is still alive, else None."""
        try:
            stack = cls(**json.loads(path.read_text()))
            os.kill(stack.pid, 0)
        except (OSError, ValueError, TypeError):
            return None
        return stack

    @staticmethod
    def clear(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
