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

    def failing(
        self, baseline: set[str] | None = None, threshold: Severity = Severity.MEDIUM
    ) -> list[Finding]:
        """Findings at or above ``threshold`` whose stable id is not in the baseline."""
        known = baseline or set()
        return [f for f in self.findings if f.severity.rank >= threshold.rank and f.id not in known]


class EngineUnavailable(Exception):
    """The engine cannot run here (not installed, daemon unreachable); the reason says why."""
