"""A control's references as every export and the auditor's summary name them.

The catalog's refs (roadmap, OWASP Top 10, OWASP API Top 10, ASVS, CWE) travel in results.json;
NIST SP 800-53 controls are derived from the CWEs through a public crosswalk kept as data
(``nist_crosswalk.toml``), never guessed.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from harness.catalog import Refs

CROSSWALK_PATH = Path(__file__).with_name("nist_crosswalk.toml")

# Standard keys in a stable order, with the label the reports print.
STANDARDS: dict[str, str] = {
    "roadmap": "Cross-cutting roadmap",
    "owasp": "OWASP Top 10 2021",
    "api": "OWASP API Security Top 10 2023",
    "asvs": "OWASP ASVS 4.0.3",
    "cwe": "CWE",
    "nist": "NIST SP 800-53 (via CWE crosswalk)",
}


class Crosswalk(BaseModel):
    source: str
    revision: str
    cwe: dict[str, list[str]] = Field(default_factory=dict)


@lru_cache(maxsize=1)
def crosswalk() -> Crosswalk:
    return Crosswalk.model_validate(tomllib.loads(CROSSWALK_PATH.read_text(encoding="utf-8")))


class ControlRefs(BaseModel):
    """Every reference of one control, each standard's ids as plain strings."""

    roadmap: list[str] = Field(default_factory=list)
    owasp: list[str] = Field(default_factory=list, description="A01 ... A10 (2021)")
    api: list[str] = Field(default_factory=list, description="API1:2023 ...")
    asvs: list[str] = Field(default_factory=list)
    cwe: list[int] = Field(default_factory=list)
    nist: list[str] = Field(default_factory=list, description="SP 800-53 ids, e.g. SI-10")

    def by_standard(self) -> dict[str, list[str]]:
        """Standard key -> the ids this control cites (only standards it cites)."""
        values: dict[str, list[str]] = {
            "roadmap": self.roadmap,
            "owasp": self.owasp,
            "api": self.api,
            "asvs": self.asvs,
            "cwe": [f"CWE-{c}" for c in self.cwe],
            "nist": self.nist,
        }
        return {key: ids for key, ids in values.items() if ids}

    def labels(self) -> list[str]:
        """Human-readable labels, catalog labels first, then NIST."""
        base = Refs(
            roadmap=self.roadmap, owasp=self.owasp, api=self.api, asvs=self.asvs, cwe=self.cwe
        )
        return base.labels() + [f"NIST SP 800-53 {n}" for n in self.nist]


def control_refs(raw: dict[str, list[Any]], extra_cwe: int | None = None) -> ControlRefs:
    """A results.json control's ``refs`` (plus a finding's own CWE) with NIST derived."""
    try:
        refs = Refs.model_validate(raw)
    except ValueError:
        refs = Refs()
    cwes = list(refs.cwe)
    if extra_cwe is not None and extra_cwe not in cwes:
        cwes.append(extra_cwe)
    mapping = crosswalk().cwe
    nist: list[str] = []
    for cwe in cwes:
        for control in mapping.get(str(cwe), []):
            if control not in nist:
                nist.append(control)
    return ControlRefs(
        roadmap=refs.roadmap, owasp=refs.owasp, api=refs.api, asvs=refs.asvs, cwe=cwes, nist=nist
    )


def cwe_url(cwe: int) -> str:
    return f"https://cwe.mitre.org/data/definitions/{cwe}.html"
