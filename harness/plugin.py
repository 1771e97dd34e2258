"""pytest plugin: the hooks. They feed a recorder and, at the end, run the pipeline once.

Registered through the ``pytest11`` entry point ``harness``, so every pytest run in an
environment with the harness installed has the ``control`` marker and the ``evidence`` fixture.
A run that collects no control test (the harness's own unit tests) writes nothing.

Under pytest-xdist the controller decides the run directory and the redaction key and hands
them to the workers (``pytest_configure_node``); workers write evidence files and attach
references to their test reports; the controller's recorder folds the reports it receives and,
at the end, ``harness.pipeline.finish_run`` folds, gates, renders and seals the run folder.
Secrets that workers learnt travel back in ``workeroutput`` (never in test reports, which
other plugins such as junitxml print).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.evidence import PROP_CONTROLS, Evidence
from harness.gate import GateError, load_policy
from harness.pipeline import finish_run
from harness.plugin_options import add_options
from harness.plugin_state import STATE_KEY, PluginState, run_dir_for, state_of
from harness.redact import Redactor
from harness.rundir import RunDir
from harness.runfacts import RunFacts
from harness.seal import SealError, signing_key
from harness.secret_sources import SecretSource as SecretSource  # re-exported for suites
from harness.secret_sources import clear_secret_sources, secret_sources
from harness.secret_sources import mock_token_source as mock_token_source
from harness.secret_sources import register_secret_source as register_secret_source
from harness.select import chosen_controls
from harness.stack.base import LifecycleUnsupported
from harness.verdicts import NotApplicable

_SECRET_ENV_KEY = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY", re.IGNORECASE)
_GATE_LINES = 25

# Configs currently running in this process, innermost last (pytester nests sessions).
_active: list[PluginState] = []


def register_secret(value: str) -> None:
    """Redact ``value`` from every evidence file of this run (same as ``evidence.secret``)."""
    if _active:
        _active[-1].redactor.register(value)


# -- options and configuration ---------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "control(*ids): the catalog control id(s) this test verifies"
    )
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and "harness_out" in workerinput:
        state = PluginState(
            config=config,
            run=RunDir(
                path=Path(workerinput["harness_out"]),
                run_id=workerinput["harness_run_id"],
                reports_root=Path(workerinput["harness_reports_root"]),
            ),
            redactor=Redactor(bytes.fromhex(workerinput["harness_redact_key"])),
            is_worker=True,
        )
    else:
        state = PluginState(
            config=config,
            run=run_dir_for(config),
            redactor=Redactor(),
            is_worker=workerinput is not None,
        )
        if not state.is_worker:
            _load_seal_and_policy(state)
    config.stash[STATE_KEY] = state
    _active.append(state)
    _register_profile_secrets(state)
    if not state.is_worker:
        config.pluginmanager.register(_Controller(state), "harness-controller")


def _load_seal_and_policy(state: PluginState) -> None:
    """A bad key or policy stops the run before any test, in one line."""
    config = state.config
    try:
        state.key = signing_key(config.getoption("harness_signing_key", default=None))
    except SealError as exc:
        raise pytest.UsageError(f"harness: {exc}") from None
    policy = config.getoption("harness_policy", default=None)
    if policy:
        state.policy = Path(policy).resolve()
        try:
            load_policy(state.policy)
        except GateError as exc:
            raise pytest.UsageError(f"harness: {exc}") from None


def pytest_unconfigure(config: pytest.Config) -> None:
    if _active and _active[-1].config is config:
        _active.pop()
        if not _active:
            clear_secret_sources()


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """The safety mode in force, first thing a plain ``pytest suites/...`` run shows."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.is_worker or state.profile is None:
        return None
    from harness.runfacts import safety_lines

    return [f"harness profile {state.profile.name!r}: " + " · ".join(safety_lines(state.profile))]


def _register_profile_secrets(state: PluginState) -> None:
    profile = state.profile
    if profile is None:
        return
    for user in profile.auth.users:
        state.redactor.register(user.password)
        state.redactor.register(user.token)
    state.redactor.register(profile.dast.zap_api_key)
    for key, value in profile.env.items():
        if _SECRET_ENV_KEY.search(key):
            state.redactor.register(value)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker writes into the same run directory with the same key."""
    state = state_of(node.config)
    node.workerinput["harness_out"] = str(state.run.path)
    node.workerinput["harness_run_id"] = state.run.run_id
    node.workerinput["harness_reports_root"] = str(state.run.reports_root)
    node.workerinput["harness_redact_key"] = state.redactor.key.hex()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: secrets a worker learnt, for the final redaction pass."""
    output = getattr(node, "workeroutput", None) or {}
    state_of(node.config).redactor.register_all(output.get("harness_secrets", []))


# -- collection ------------------------------------------------------------------------------
def item_controls(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("control"):
        for value in marker.args:
            if value not in ids:
                ids.append(str(value))
    return ids


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = state_of(config)
    for item in items:
        ids = item_controls(item)
        if not ids:
            if any(True for _ in item.iter_markers("control")):
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.control needs an id")
            continue
        for control_id in ids:
            if control_id not in state.catalog:
                raise pytest.UsageError(
                    f"{item.nodeid}: unknown control {control_id!r} (not in harness/catalog.toml)"
                )
        item.user_properties.append((PROP_CONTROLS, ids))


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if not config.getoption("harness_strict_catalog", default=False):
        return
    state = state_of(config)
    covered = {cid for item in session.items for cid in item_controls(item)}
    missing = [c.id for c in state.catalog if not c.planned and c.id not in covered]
    if missing:
        raise pytest.UsageError(
            "harness catalog: non-planned control(s) with no collected test: "
            + ", ".join(missing)
            + " (write the test, or mark the control planned = true)"
        )


# -- running ---------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    ids = item_controls(item)
    profile = state_of(item.config).profile
    if not ids or profile is None:
        return
    reasons = [profile.not_applicable[cid] for cid in ids if cid in profile.not_applicable]
    if len(reasons) == len(ids):
        raise NotApplicable(f"profile {profile.name!r}: {reasons[0]}")


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Attach evidence to the control(s) of this test; see docs/reports.md."""
    state = state_of(request.config)
    item = request.node
    return Evidence(
        nodeid=item.nodeid,
        controls=item_controls(item),
        out_dir=state.ensure_out,
        redactor=state.redactor,
        properties=item.user_properties,
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    if not item_controls(item):
        return report
    excinfo = call.excinfo
    if excinfo is not None and isinstance(excinfo.value, LifecycleUnsupported):
        # The provider cannot do this (an external deployment): the control does not apply.
        message = f"not_applicable: {excinfo.value}"
        report.outcome = "skipped"
        report.longrepr = (str(item.path), (item.location[1] or 0) + 1, f"Skipped: {message}")
    prop = state_of(item.config).recorder.verdict_property(report, call)
    if prop is not None:
        report.user_properties.append(prop)
    return report


# -- the controller records reports -------------------------------------------------------------
class _Controller:
    """Registered on the controller (or the only process) of a run; feeds its recorder."""

    def __init__(self, state: PluginState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.recorder.fold(report)


# -- the end of the session ------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # tryfirst: before session-scoped fixtures (the stack) are torn down, so secret sources
    # such as the mock provider's token list are still reachable.
    state = state_of(session.config)
    _collect_source_secrets(state, session.config)
    if state.is_worker:
        output = getattr(session.config, "workeroutput", None)
        if output is not None:
            output["harness_secrets"] = sorted(state.redactor.originals)
        return
    strict = bool(session.config.getoption("harness_strict_catalog", default=False))
    if not state.recorder and not strict:
        return  # not a control run (the harness's own unit tests): write nothing
    _finish(state, session.config, strict=strict)


def _collect_source_secrets(state: PluginState, config: pytest.Config) -> None:
    for source in secret_sources():
        try:
            state.redactor.register_all(source())
        except Exception as exc:  # noqa: BLE001 - a dead mock must not lose the whole report
            _warn(
                config,
                f"harness: a secret source failed ({type(exc).__name__}: {exc}); "
                "evidence was redacted with the secrets known so far",
            )


def _stack_state_option(config: pytest.Config) -> str | None:
    """The state file the run attached to (``--stack-state``, or the environment)."""
    value = config.getoption("stack_state", default=None) or os.environ.get("HARNESS_STACK_STATE")
    return str(value) if value else None


def _warn(config: pytest.Config, message: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(message, yellow=True)
    else:
        print(message, file=sys.stderr)


def _finish(state: PluginState, config: pytest.Config, *, strict: bool) -> None:
    run = state.run
    run.ensure()
    run.rescan_evidence(state.redactor)
    facts = RunFacts.gather(
        catalog=state.catalog,
        profile=state.profile,
        started=state.started,
        strict=strict,
        root=config.rootpath,
        pytest_args=[state.redactor.text(a) for a in config.invocation_params.args],
        stack_state=_stack_state_option(config),
        only=chosen_controls(config),
    )
    gate_lines: list[str] = []
    key = state.key or signing_key(None)
    try:
        results = finish_run(
            run,
            state.recorder.records,
            facts,
            policy=state.policy,
            key=key,
            render=not config.getoption("harness_no_report", default=False),
            echo=gate_lines.append,
        )
    except GateError as exc:
        _warn(config, f"harness: the gate could not decide: {exc}")
        return
    state.gate_lines = gate_lines
    counts = ", ".join(f"{k} {v}" for k, v in results.summary.items() if v and k != "total")
    gate = results.gate
    verdict = "" if gate is None else (" gate passed" if gate.passed else " gate FAILED;")
    state.summary_line = (
        f"{len(results.controls)} controls ({counts});{verdict} -> {run.results_path} "
        f"(sealed, key {key.fingerprint[:23]}...)"
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.summary_line:
        return
    terminalreporter.write_sep("-", "harness")
    # The gate's reasons (harness run shows them too: it echoes this output).
    reasons = state.gate_lines[:-1]
    for line in reasons[:_GATE_LINES]:
        terminalreporter.write_line(line)
    if len(reasons) > _GATE_LINES:
        terminalreporter.write_line(f"... {len(reasons) - _GATE_LINES} more in report.html")
    terminalreporter.write_line(state.summary_line)
