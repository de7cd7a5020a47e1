"""Rendering pages: one Jinja2 environment, autoescaped, and the asset URLs it may use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from cyphera.web.assets import Assets

TEMPLATES_DIR = Path(__file__).parent / "templates"


class Pages:
    def __init__(self, assets: Assets) -> None:
        self._environment = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
        )
        self._environment.globals["asset"] = assets.url

    def render(
        self, template: str, context: dict[str, Any], *, status_code: int = 200
    ) -> HTMLResponse:
        html = self._environment.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status_code)
