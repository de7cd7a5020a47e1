"""The pages' script and stylesheet: built at setup under content-hashed names, served for a year.

``make web-assets`` bundles ``ts/checkout.ts`` (with ``viem``) and ``static/checkout.css`` with
esbuild into ``build/web/`` as ``checkout-<hash>.js``/``.css`` and writes ``manifest.json``
(logical name → file). Templates ask `Assets.url` for ``checkout.js``; a changed file gets a new
name, so the files are cached as immutable.
"""

from __future__ import annotations

import json
from pathlib import Path

import structlog
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from cyphera.config import project_root

ASSETS_PATH = "/static/web"
MANIFEST = "manifest.json"
IMMUTABLE = "public, max-age=31536000, immutable"

log = structlog.get_logger(__name__)


def default_assets_dir() -> Path:
    """``build/web`` of the checkout, where ``make web-assets`` puts the bundle."""
    return project_root() / "build" / "web"


class Assets:
    """Logical asset names → their URLs, from the build's manifest."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        manifest = directory / MANIFEST
        self._files: dict[str, str] = {}
        if manifest.is_file():
            loaded = json.loads(manifest.read_text())
            self._files = {str(k): str(v) for k, v in loaded.items()}
        else:
            # Pages still render (and work without JS); the wallet step needs the bundle.
            log.warning("web.assets_missing", directory=str(directory), hint="make web-assets")

    def url(self, name: str) -> str:
        return f"{ASSETS_PATH}/{self._files.get(name, name)}"


class ImmutableStaticFiles(StaticFiles):
    """Static files whose names change with their content: cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response
