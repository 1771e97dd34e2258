"""The control catalog: every control the harness knows, loaded from ``catalog.toml``.

The catalog is data, so adding a control never touches code. It is validated when loaded: a
duplicate id, an unknown area or severity, or a malformed id stops the run with one line
(``CatalogError``) rather than producing a report nobody can trust.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CATALOG_PATH = Path(__file__).with_name("catalog.toml")
ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,11}-\d{2,3}$")


class CatalogError(Exception):
    """The catalog (or a test's use of it) is inconsistent; the message is one line."""


class Area(StrEnum):
    AUTH = "auth"
    HARDENING = "hardening"
    API = "api"
    OBSERVABILITY = "observability"
    PERFORMANCE = "performance"
    OPERATIONS = "operations"
    E2E = "e2e"
    SUPPLY_CHAIN = "supply_chain"


class ControlSeverity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Refs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roadmap: list[str] = Field(default_factory=list, description="cross-cutting roadmap sections")
    owasp: list[str] = Field(default_factory=list, description="OWASP Top 10 2021, e.g. A01")
    api: list[str] = Field(default_factory=list, description="OWASP API Top 10 2023 (API4:2023)")
    asvs: list[str] = Field(default_factory=list, description="OWASP ASVS 4.0.3 requirements")
    cwe: list[int] = Field(default_factory=list, description="CWE ids")

    def labels(self) -> list[str]:
        """Human-readable labels, in a stable order, for reports."""
        return (
            [f"Roadmap {r}" for r in self.roadmap]
            + [f"OWASP {o}:2021" for o in self.owasp]
            + [f"OWASP {a}" for a in self.api]
            + [f"ASVS {a}" for a in self.asvs]
            + [f"CWE-{c}" for c in self.cwe]
        )


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    claim: str
    method: str
    area: Area
    severity: ControlSeverity
    planned: bool = False
    # A busy machine alone could make it fail (a latency budget, a burst that must land within
    # a window): another stack's run on the same cores could then pass for the fault's catch,
    # so `efficacy --stacks N` runs its faults with the machine to themselves.
    timing: bool = False
    faults: list[str] = Field(default_factory=list)
    refs: Refs = Field(default_factory=Refs)


_OWASP = re.compile(r"^A(0[1-9]|10)$")
_ASVS = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}$")


class Catalog:
    """Controls by id, in catalog order."""

    def __init__(self, controls: list[Control]) -> None:
        self._controls = {control.id: control for control in controls}

    def __iter__(self) -> Iterator[Control]:
        return iter(self._controls.values())

    def __len__(self) -> int:
        return len(self._controls)

    def __contains__(self, control_id: object) -> bool:
        return control_id in self._controls

    def get(self, control_id: str) -> Control:
        try:
            return self._controls[control_id]
        except KeyError:
            raise CatalogError(f"unknown control {control_id!r} (not in the catalog)") from None

    def ids(self) -> list[str]:
        return list(self._controls)

    def fault_map(self) -> dict[str, list[str]]:
        """Fault name -> the controls it must make fail, in catalog order."""
        mapping: dict[str, list[str]] = {}
        for control in self:
            for fault in control.faults:
                mapping.setdefault(fault, []).append(control.id)
        return mapping

    def quick_faults(self) -> list[str]:
        """Each non-planned control's first fault: the quick matrix for PR CI."""
        chosen: list[str] = []
        for control in self:
            if not control.planned and control.faults and control.faults[0] not in chosen:
                chosen.append(control.faults[0])
        return chosen


def parse_catalog(text: str, source: str = "catalog") -> Catalog:
    """Parse and validate catalog TOML; raise CatalogError with one line on the first problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from None
    entries = document.get("control", [])
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{source}: no [[control]] entries")
    controls: list[Control] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{source}: control #{index + 1} ({entry.get('id', '?')})"
        try:
            control = Control.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or "(entry)"
            raise CatalogError(f"{where}: {key}: {first['msg']}") from None
        if not ID_PATTERN.match(control.id):
            raise CatalogError(f"{where}: bad id format (want e.g. SEC-01)")
        if control.id in seen:
            raise CatalogError(f"{where}: duplicate id {control.id}")
        bad = [o for o in control.refs.owasp if not _OWASP.match(o)]
        bad += [a for a in control.refs.asvs if not _ASVS.match(a)]
        if bad:
            raise CatalogError(f"{where}: malformed reference {bad[0]!r}")
        twice = sorted({f for f in control.faults if control.faults.count(f) > 1})
        if twice:
            raise CatalogError(f"{where}: fault {twice[0]!r} listed twice")
        seen.add(control.id)
        controls.append(control)
    return Catalog(controls)


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_catalog(text, source=path.name)
