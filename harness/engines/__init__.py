"""Adapters that run an established tool and normalise its findings to harness.findings.Finding.

``zap``: OWASP ZAP through its API client (``zaproxy``), when a ZAP daemon is configured.
``wapiti``: wapiti3 as a subprocess, the DAST engine that runs anywhere.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from harness.findings import Finding, Severity

# CWE -> OWASP Top 10 2021 category, for engines that report only a CWE.
CWE_TO_OWASP: dict[int, str] = {
    22: "A01",
    200: "A01",
    201: "A01",
    284: "A01",
    285: "A01",
    352: "A01",
    359: "A01",
    425: "A01",
    548: "A01",
    601: "A01",
    639: "A01",
    862: "A01",
    863: "A01",
    1275: "A01",
    261: "A02",
    296: "A02",
    310: "A02",
    311: "A02",
    319: "A02",
    326: "A02",
    327: "A02",
    523: "A02",
    614: "A05",
    757: "A02",
    20: "A03",
    74: "A03",
    77: "A03",
    78: "A03",
    79: "A03",
    80: "A03",
    89: "A03",
    90: "A03",
    91: "A03",
    93: "A03",
    94: "A03",
    113: "A03",
    643: "A03",
    917: "A03",
    209: "A04",
    256: "A04",
    501: "A04",
    522: "A04",
    2: "A05",
    11: "A05",
    13: "A05",
    15: "A05",
    16: "A05",
    260: "A05",
    315: "A05",
    520: "A05",
    526: "A05",
    537: "A05",
    541: "A05",
    547: "A05",
    611: "A05",
    693: "A05",
    776: "A05",
    942: "A05",
    1004: "A05",
    1021: "A05",
    1174: "A05",
    937: "A06",
    1035: "A06",
    1104: "A06",
    287: "A07",
    288: "A07",
    290: "A07",
    294: "A07",
    307: "A07",
    384: "A07",
    521: "A07",
    613: "A07",
    620: "A07",
    640: "A07",
    798: "A07",
    345: "A08",
    353: "A08",
    426: "A08",
    494: "A08",
    502: "A08",
    565: "A08",
    829: "A08",
    830: "A08",
    915: "A08",
    117: "A09",
    223: "A09",
    532: "A09",
    778: "A09",
    918: "A10",
}


def owasp_for(cwe: int | None) -> str | None:
    return CWE_TO_OWASP.get(cwe) if cwe else None


class Coverage(BaseModel):
    """What a run covered of what it planned: the verdict must not claim more."""

    planned: list[str] = Field(default_factory=list, description="modules or phases planned")
    ran: list[str] = Field(default_factory=list, description="those that started")
    stopped_at_budget: bool = Field(default=False, description="stopped by the wall deadline")
    bounded: list[str] = Field(
        default_factory=list, description="those that ran until their share of the budget"
    )

    @property
    def missing(self) -> list[str]:
        return [m for m in self.planned if m not in self.ran]

    @property
    def complete(self) -> bool:
        return not self.stopped_at_budget and not self.missing

    def describe(self, budget_s: float) -> str:
        text = f"{len(self.ran)} of {len(self.planned)} modules ran"
        if self.stopped_at_budget:
            text = f"stopped at its {budget_s:.0f} s budget after {text}"
        if self.missing:
            text += f" (not run: {', '.join(self.missing)})"
        if self.bounded:
            text += f"; bounded by their time share: {', '.join(self.bounded)}"
        return text


class EngineRun(BaseModel):
    """What one engine run produced, whatever the engine."""

    engine: str
    target: str
    findings: list[Finding] = Field(default_factory=list)
    warnings: list[Finding] = Field(default_factory=list, description="kept, never failing")
    ignored: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = Field(default_factory=list)
    raw_path: str | None = None
    coverage: Coverage | None = None
    mode: str = Field(default="intrusive", description="'passive' when only passive checks ran")
    containment: str | None = Field(default=None, description="how the tool was contained")
    attempts: list[str] = Field(default_factory=list, description="earlier failed attempts")
    refused: list[str] = Field(
        default_factory=list, description="requests the egress guard refused"
    )

    def failing(
        self, baseline: set[str] | None = None, threshold: Severity = Severity.MEDIUM
    ) -> list[Finding]:
        """Findings at or above ``threshold`` whose stable id is not in the baseline."""
        known = baseline or set()
        return [f for f in self.findings if f.severity.rank >= threshold.rank and f.id not in known]


class EngineUnavailable(Exception):
    """The engine cannot run here (not installed, daemon unreachable); the reason says why."""

    def __init__(self, reason: str, *, attempts: list[str] | None = None) -> None:
        super().__init__(reason)
        self.attempts = attempts or []
