"""Which tests and probes verify each control, read from the suites' source without running them.

``harness controls ID`` must answer in a blink and without a stack, so instead of collecting
through pytest (which imports every suite and its conftest) this parses the test files and reads
the ``pytest.mark.control(...)`` marks on functions, classes and modules (``pytestmark``). A
test's probes (and engines) are the ``harness.probes`` (``harness.engines``) modules whose names
its body uses, directly or through a module-level helper of the same file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeGuard

from pydantic import BaseModel, Field

HARNESS_DIR = Path(__file__).resolve().parent
# The harness packages a test's checks come from: its probes (the API suite's in harness.api,
# the resilience suite's drills in harness.drills) and the external tools' adapters.
PACKAGES = (
    "harness.probes",
    "harness.api",
    "harness.drills",
    "harness.browser",
    "harness.supply_chain",
    "harness.engines",
)


class SuitesNotFound(Exception):
    """There is no suites folder to scan (one line)."""


class ControlCoverage(BaseModel):
    tests: list[str] = Field(default_factory=list, description="pytest node ids")
    probes: list[str] = Field(
        default_factory=list, description="harness.probes, harness.api and harness.drills modules"
    )
    engines: list[str] = Field(default_factory=list, description="harness.engines modules")


def scan_suites(root: Path) -> dict[str, ControlCoverage]:
    """Control id -> the tests that verify it and the probes they use, over ``root/*/test_*.py``."""
    if not root.is_dir():
        raise SuitesNotFound(
            f"no control suites at {root} (they ship with the harness as the `suites` "
            "package: reinstall the harness, or put the checkout on PYTHONPATH)"
        )
    coverage: dict[str, ControlCoverage] = {}
    for path in sorted(root.glob("*/test_*.py")):
        nodeid_prefix = path.relative_to(root.parent).as_posix()
        for nodeid, controls, probes in _scan_file(path, nodeid_prefix):
            for control in controls:
                entry = coverage.setdefault(control, ControlCoverage())
                entry.tests.append(nodeid)
                for module in sorted(probes):
                    kind = entry.engines if module.startswith("harness.engines") else entry.probes
                    if module not in kind:
                        kind.append(module)
    for entry in coverage.values():
        entry.probes.sort()
        entry.engines.sort()
    return coverage


def _scan_file(path: Path, prefix: str) -> Iterator[tuple[str, list[str], set[str]]]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return  # pytest reports a broken test file far better than a listing could
    imports = _harness_imports(tree)
    helpers = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    module_marks = _pytestmark(tree.body)
    for node in tree.body:
        if _is_test_function(node):
            controls = module_marks + _marks(node.decorator_list)
            if controls:
                yield f"{prefix}::{node.name}", controls, _probes(node, imports, helpers)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            class_marks = module_marks + _marks(node.decorator_list) + _pytestmark(node.body)
            for member in node.body:
                if _is_test_function(member):
                    controls = class_marks + _marks(member.decorator_list)
                    if controls:
                        probes = _probes(member, imports, helpers)
                        yield f"{prefix}::{node.name}::{member.name}", controls, probes


def _is_test_function(node: ast.stmt) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def _marks(expressions: Iterable[ast.expr]) -> list[str]:
    """Control ids of the ``pytest.mark.control("ID", ...)`` calls among ``expressions``."""
    found: list[str] = []
    for expression in expressions:
        items = expression.elts if isinstance(expression, ast.List | ast.Tuple) else [expression]
        for item in items:
            if (
                isinstance(item, ast.Call)
                and isinstance(item.func, ast.Attribute)
                and item.func.attr == "control"
                and isinstance(item.func.value, ast.Attribute)
                and item.func.value.attr == "mark"
            ):
                found += [
                    arg.value
                    for arg in item.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                ]
    return found


def _pytestmark(body: list[ast.stmt]) -> list[str]:
    values = [
        node.value
        for node in body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
    ]
    return _marks(values)


def _harness_imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> the probe or engine module it comes from."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in PACKAGES:
                for alias in node.names:
                    names[alias.asname or alias.name] = _submodule(node.module, alias.name)
            elif node.module.startswith(tuple(p + "." for p in PACKAGES)):
                for alias in node.names:
                    names[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(tuple(p + "." for p in PACKAGES)) and alias.asname:
                    names[alias.asname] = alias.name
    return names


def _submodule(package: str, name: str) -> str:
    """``from harness.probes import x``: the submodule when one exists, else the package."""
    folder = HARNESS_DIR / package.split(".", 1)[1]
    if (folder / f"{name}.py").is_file() or (folder / name).is_dir():
        return f"{package}.{name}"
    return package


def _probes(
    node: ast.AST,
    imports: dict[str, str],
    helpers: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef],
) -> set[str]:
    """The probe and engine modules ``node`` uses, following the file's own helpers."""
    modules: set[str] = set()
    seen: set[str] = set()
    pending: list[ast.AST] = [node]
    while pending:
        current = pending.pop()
        for child in ast.walk(current):
            if not isinstance(child, ast.Name):
                continue
            if child.id in imports:
                modules.add(imports[child.id])
            elif child.id in helpers and child.id not in seen:
                seen.add(child.id)
                pending.append(helpers[child.id])
    return modules
