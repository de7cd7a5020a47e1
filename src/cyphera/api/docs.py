"""``/docs``: Swagger UI served from our own origin, under a strict Content-Security-Policy.

FastAPI's default page loads Swagger UI's JavaScript and CSS from a CDN without integrity hashes
(whoever controls the CDN runs script on our origin, next to the API keys people paste into the
page) and boots it with an inline ``<script>``, which a strict CSP forbids. Here:

- Swagger UI's files come from the pinned npm package ``swagger-ui-dist`` (``package.json``;
  ``make setup`` installs it), served under ``/static/swagger/``. Elsewhere than a checkout, point
  ``CYPHERA_API__DOCS_ASSETS_DIR`` at a copy of the package's folder;
- the page is ours: no inline script, the OpenAPI URL passed in a ``data-`` attribute, and
  ``/static/docs.js`` (`static/docs.js`) boots the UI;
- the page's CSP allows only this origin (``script-src 'self'``; images also as ``data:`` URIs,
  which Swagger UI's stylesheet uses for its icons).
"""

from __future__ import annotations

import html
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from cyphera.config import project_root

DOCS_PATH = "/docs"
ASSETS_PATH = "/static/swagger"
STATIC_PATH = "/static"
STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

log = structlog.get_logger(__name__)


def default_assets_dir() -> Path:
    """``node_modules/swagger-ui-dist`` of the checkout, where ``npm ci`` puts it."""
    return project_root() / "node_modules" / "swagger-ui-dist"


def docs_page(*, title: str, openapi_url: str) -> str:
    """The HTML of ``/docs``: Swagger UI's files and our boot script, nothing inline."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} – docs</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url)}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{STATIC_PATH}/docs.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI, *, assets_dir: Path | None) -> None:
    """Serve ``/docs`` and its files; create `app` with ``docs_url=None``."""
    directory = assets_dir or default_assets_dir()
    missing = [name for name in SWAGGER_FILES if not (directory / name).is_file()]
    if missing:
        # The API itself works without them; only the docs page would be blank.
        log.warning("api.docs_assets_missing", directory=str(directory), missing=missing)
    page = docs_page(title=app.title, openapi_url=app.openapi_url or "/openapi.json")

    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=directory, check_dir=False), name="swagger")
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
