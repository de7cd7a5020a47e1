"""`AuthContext`: who the caller is, resolved once per request from its API key."""

from __future__ import annotations

from dataclasses import dataclass

from cyphera.auth.scope import Scope
from cyphera.models.mixins import Mode


@dataclass(frozen=True, slots=True)
class AuthContext:
    """The authenticated caller: its workspace and mode (its `scope`), its key, and its rights."""

    workspace_id: str
    mode: Mode
    api_key_id: str
    is_read_only: bool

    @property
    def scope(self) -> Scope:
        return Scope(workspace_id=self.workspace_id, mode=self.mode)

    @property
    def livemode(self) -> bool:
        return self.mode is Mode.LIVE
