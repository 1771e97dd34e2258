"""One finding model for every engine and probe (DAST, SAST, fuzzers, the harness's own probes)."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, computed_field


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return ["info", "low", "medium", "high", "critical"].index(self.value)


class Confidence(StrEnum):
    CONFIRMED = "confirmed"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Finding(BaseModel):
    """A problem a tool or probe reported, normalised."""

    rule: str = Field(description="engine-qualified rule id, e.g. 'zap:40018', 'probe:sqli'")
    title: str
    severity: Severity
    confidence: Confidence = Confidence.MEDIUM
    engine: str = "harness"
    control: str | None = None
    cwe: int | None = None
    owasp: str | None = Field(default=None, description="OWASP Top 10 2021 category, e.g. 'A03'")
    url: str | None = None
    method: str | None = None
    parameter: str | None = None
    evidence: str | None = None
    description: str | None = None
    evidence_paths: list[str] = Field(
        default_factory=list, description="evidence files of the run that show the finding"
    )
    synthesized: bool = Field(
        default=False,
        description="made from a failed control that reported no finding of its own",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Stable across runs, so a baseline can accept a known finding."""
        # Path only: hosts and ports change between runs of the same target.
        path = urlsplit(self.url).path if self.url else ""
        key = "|".join([self.rule, self.method or "", path, self.parameter or ""])
        return hashlib.sha256(key.encode()).hexdigest()[:16]
