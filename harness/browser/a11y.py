"""Accessibility: axe-core (bundled by axe-playwright-python) run inside the page.

Playwright evaluates the script through the DevTools protocol, so the page's own CSP does not
stop it and the page needs no change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from playwright.sync_api import Page


class AxeViolation(BaseModel):
    rule: str
    impact: str
    help: str
    help_url: str = ""
    targets: list[str] = Field(default_factory=list)  # CSS selectors of the offending nodes
    nodes: int = 0


def audit(page: Page, disabled_rules: list[str]) -> list[AxeViolation]:
    """axe-core's violations on the page as it is now; raises if axe cannot run."""
    from axe_playwright_python.sync_playwright import Axe

    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if disabled_rules:
        options["rules"] = {rule: {"enabled": False} for rule in disabled_rules}
    response = Axe().run(page, options=options).response
    out: list[AxeViolation] = []
    for item in response.get("violations", []):
        nodes = item.get("nodes", [])
        out.append(
            AxeViolation(
                rule=str(item.get("id", "")),
                impact=str(item.get("impact") or "minor"),
                help=str(item.get("help", "")),
                help_url=str(item.get("helpUrl", "")),
                targets=[" ".join(map(str, n.get("target", []))) for n in nodes[:10]],
                nodes=len(nodes),
            )
        )
    return out
