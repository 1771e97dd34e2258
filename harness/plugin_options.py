"""The plugin's command-line options (``pytest --help``, group "compliance harness")."""

from __future__ import annotations

import pytest


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "compliance harness")
    group.addoption(
        "--harness-out",
        metavar="DIR",
        default=None,
        help="run directory for evidence, results.json and reports "
        "(default: $HARNESS_OUT or reports/<run-id>)",
    )
    group.addoption(
        "--harness-no-report",
        action="store_true",
        default=False,
        help="write results.json and the manifest but render no HTML/JUnit/SARIF/Markdown",
    )
    group.addoption(
        "--harness-policy",
        metavar="TOML",
        default=None,
        help="gate policy applied at the end of the run "
        "(default: every applicable control must pass; see docs/gate.md)",
    )
    group.addoption(
        "--harness-signing-key",
        metavar="PEM",
        default=None,
        help="Ed25519 private key (PEM) that seals the run folder "
        "(default: $HARNESS_SIGNING_KEY, else a key generated for this run)",
    )
    group.addoption(
        "--harness-run-id",
        metavar="ID",
        default=None,
        help="run id (harness run chooses it; default: a new one)",
    )
    group.addoption(
        "--harness-strict-catalog",
        action="store_true",
        default=False,
        help="the full run: report every area, and fail when a non-planned control has no test",
    )
