"""Accessibility checks with axe-core (npm, pinned in package.json) on a Playwright page.

`assert_accessible(page)` runs axe on the page as it is now — call it once per state — and fails
on any serious or critical violation, listing each with the elements it found. The pages' CSP
forbids inline and injected scripts, so axe's source is evaluated through the DevTools protocol
(`page.evaluate`), which the CSP does not govern: the page under test keeps its real policy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# WCAG 2.2 A and AA, and axe's best practices (landmarks, one main heading …).
RUN_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


@cache
def _axe_source() -> str:
    if not AXE_SCRIPT.is_file():
        raise FileNotFoundError(f"{AXE_SCRIPT} is missing: run `make setup` (npm ci)")
    return AXE_SCRIPT.read_text()


async def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on `page` as it is now (every impact)."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated as an expression: axe defines window.axe, whatever the CSP says.
        await page.evaluate(_axe_source())
    found: list[dict[str, Any]] = await page.evaluate(
        "async (options) => (await window.axe.run(document, options)).violations", RUN_OPTIONS
    )
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for violation in found:
        targets = ", ".join(str(node.get("target")) for node in violation.get("nodes", []))
        lines.append(
            f"[{violation.get('impact')}] {violation.get('id')}: {violation.get('help')} ({targets})"
        )
    return "\n".join(lines)


async def assert_accessible(page: Page) -> None:
    """Fail when axe finds a serious or critical violation on `page` in its current state."""
    blocking = [v for v in await violations(page) if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, f"accessibility violations on {page.url}:\n{describe(blocking)}"
