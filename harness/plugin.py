"""pytest plugin: controls, evidence and verdicts; writes results.json and the reports.

Registered through the ``pytest11`` entry point ``harness``, so every pytest run in an
environment with the harness installed has the ``control`` marker and the ``evidence`` fixture.
A run that collects no control test (the harness's own unit tests) writes nothing.

Under pytest-xdist the controller decides the run directory and the redaction key and hands
them to the workers (``pytest_configure_node``); workers write evidence files and attach
references to their test reports; the controller folds the reports it receives and, at the end,
writes results.json, the reports and the manifest. Secrets that workers learnt travel back in
``workeroutput`` (never in test reports, which other plugins such as junitxml print).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness import __version__
from harness.catalog import Catalog, CatalogError, load_catalog
from harness.evidence import (
    PROP_CONTROLS,
    PROP_EVIDENCE,
    PROP_FIGURE,
    PROP_FINDING,
    PROP_VERDICT,
    Evidence,
    EvidenceError,
)
from harness.findings import Finding
from harness.outcomes import TestRecord, fold_run
from harness.profile import Profile, ProfileError, load_profile
from harness.redact import Redactor
from harness.results import Figure, Results, ResultsError, RunInfo, save_results, summarise
from harness.runfiles import (
    RESULTS,
    evidence_hashes,
    rescan_evidence,
    update_latest,
    write_manifest,
)
from harness.scope import OutOfScope
from harness.stack.base import LifecycleUnsupported, StackError
from harness.verdicts import NotApplicable, NotEvaluated, Verdict

SecretSource = Callable[[], Iterable[str]]

# Exceptions that mean the harness (not the target) went wrong: the control is "error", not
# "fail", so nobody reads a broken probe as a broken target.
_INTERNAL_ERRORS: tuple[type[BaseException], ...] = (
    StackError,
    ProfileError,
    OutOfScope,
    CatalogError,
    EvidenceError,
    ResultsError,
)
_SECRET_ENV_KEY = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY", re.IGNORECASE)

_secret_sources: list[SecretSource] = []
# Configs currently running in this process, innermost last (pytester nests sessions).
_active: list[_State] = []


def register_secret_source(source: SecretSource) -> None:
    """Call ``source()`` at session end and redact every value it returns from all evidence.

    For secrets that exist only after tests ran, such as the tokens a mock provider issued:
    the stack fixture registers ``mock_token_source(stack.url("spotify_mock"))``. Called before
    session-scoped fixtures are torn down, so the service is still up.
    """
    _secret_sources.append(source)


def register_secret(value: str) -> None:
    """Redact ``value`` from every evidence file of this run (same as ``evidence.secret``)."""
    if _active:
        _active[-1].redactor.register(value)


def mock_token_source(base_url: str, path: str = "/_mock/tokens") -> SecretSource:
    """A secret source for a mock provider that lists the tokens it issued."""

    def fetch() -> list[str]:
        import httpx

        response = httpx.get(base_url.rstrip("/") + path, timeout=10)
        response.raise_for_status()
        values: list[str] = []
        for token in response.json():
            values += [token.get("access_token") or "", token.get("refresh_token") or ""]
        return [v for v in values if v]

    return fetch


# ---------------------------------------------------------------------------------------------
@dataclass
class _State:
    config: pytest.Config
    run_id: str
    out_dir: Path
    redactor: Redactor
    is_worker: bool
    started: float = field(default_factory=time.time)
    records: dict[str, TestRecord] = field(default_factory=dict)
    summary_line: str | None = None
    _catalog: Catalog | None = None
    _profile: Profile | None = None
    _profile_loaded: bool = False

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            try:
                self._catalog = load_catalog()
            except CatalogError as exc:
                raise pytest.UsageError(f"harness catalog: {exc}") from None
        return self._catalog

    @property
    def profile(self) -> Profile | None:
        """The profile if it loads; the stack fixtures report a broken profile, not us."""
        if not self._profile_loaded:
            self._profile_loaded = True
            name = self.config.getoption("profile", default=None)
            try:
                self._profile = load_profile(name if isinstance(name, str) else None)
            except (ProfileError, OSError):
                self._profile = None
        return self._profile

    def ensure_out(self) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _default_out(config: pytest.Config, run_id: str) -> Path:
    option = config.getoption("harness_out", default=None)
    if option:
        return Path(option).resolve()
    env = os.environ.get("HARNESS_OUT")
    if env:
        return Path(env).resolve()
    return config.rootpath / "reports" / run_id


# -- options and configuration ---------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
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
        "--harness-strict-catalog",
        action="store_true",
        default=False,
        help="the full run: report every area, and fail when a non-planned control has no test",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "control(*ids): the catalog control id(s) this test verifies"
    )
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and "harness_out" in workerinput:
        state = _State(
            config=config,
            run_id=workerinput["harness_run_id"],
            out_dir=Path(workerinput["harness_out"]),
            redactor=Redactor(bytes.fromhex(workerinput["harness_redact_key"])),
            is_worker=True,
        )
    else:
        run_id = new_run_id()
        state = _State(
            config=config,
            run_id=run_id,
            out_dir=_default_out(config, run_id),
            redactor=Redactor(),
            is_worker=workerinput is not None,
        )
    config.stash[_STATE] = state
    _active.append(state)
    _register_profile_secrets(state)
    if not state.is_worker:
        config.pluginmanager.register(_Controller(state), "harness-controller")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _active and _active[-1].config is config:
        _active.pop()
        if not _active:
            _secret_sources.clear()


def _register_profile_secrets(state: _State) -> None:
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
    state = _state(node.config)
    node.workerinput["harness_out"] = str(state.out_dir)
    node.workerinput["harness_run_id"] = state.run_id
    node.workerinput["harness_redact_key"] = state.redactor.key.hex()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: secrets a worker learnt, for the final redaction pass."""
    output = getattr(node, "workeroutput", None) or {}
    _state(node.config).redactor.register_all(output.get("harness_secrets", []))


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
    state = _state(config)
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
    state = _state(config)
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
    profile = _state(item.config).profile
    if not ids or profile is None:
        return
    reasons = [profile.not_applicable[cid] for cid in ids if cid in profile.not_applicable]
    if len(reasons) == len(ids):
        raise NotApplicable(f"profile {profile.name!r}: {reasons[0]}")


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Attach evidence to the control(s) of this test; see docs/reports.md."""
    state = _state(request.config)
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
    verdict = _phase_verdict(report, call)
    if verdict is not None:
        status, reason = verdict
        redacted = _state(item.config).redactor.text(reason) if reason else None
        report.user_properties.append(
            (PROP_VERDICT, {"when": report.when, "status": status.value, "reason": redacted})
        )
    return report


def _phase_verdict(
    report: pytest.TestReport, call: pytest.CallInfo[None]
) -> tuple[Verdict, str | None] | None:
    exc = call.excinfo.value if call.excinfo is not None else None
    if report.skipped:
        if hasattr(report, "wasxfail"):
            why = f"expected failure (xfail): {report.wasxfail}".rstrip(": ")
            return Verdict.NOT_EVALUATED, why
        if isinstance(exc, NotApplicable | NotEvaluated):
            return Verdict(exc.verdict), exc.reason
        if isinstance(exc, LifecycleUnsupported):
            return Verdict.NOT_APPLICABLE, str(exc)
        return Verdict.NOT_EVALUATED, f"skipped: {_skip_reason(report)}"
    if report.failed:
        message = _failure_message(report)
        if report.when != "call":
            return Verdict.ERROR, f"{report.when} error: {message}"
        if exc is not None and isinstance(exc, _INTERNAL_ERRORS):
            return Verdict.ERROR, f"harness error: {type(exc).__name__}: {exc}"
        return Verdict.FAIL, message
    if report.when == "call":
        return Verdict.PASS, None
    return None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failure_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or report.longreprtext.strip().splitlines()[-1:]
    if isinstance(message, list):
        message = message[0] if message else "failed"
    message = str(message).strip()
    return message if len(message) <= 500 else message[:497] + "..."


# -- the controller folds reports --------------------------------------------------------------
class _Controller:
    """Registered on the controller (or the only process) of a run; folds test reports."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        _fold_report(self.state, report)


def _fold_report(state: _State, report: pytest.TestReport) -> None:
    props: list[tuple[str, Any]] = [(str(k), v) for k, v in report.user_properties]
    controls = next((value for key, value in props if key == PROP_CONTROLS), None)
    if not controls:
        return
    record = state.records.get(report.nodeid)
    if record is None:
        record = state.records[report.nodeid] = TestRecord(report.nodeid, list(controls))
    record.duration_s += report.duration
    for key, value in props:
        if key == PROP_VERDICT:
            record.phases.append((Verdict(value["status"]), value.get("reason")))
    # user_properties accumulate over the phases, so the latest report has them all.
    record.evidence = [dict(v) for k, v in props if k == PROP_EVIDENCE]
    record.findings = [dict(v) for k, v in props if k == PROP_FINDING]
    record.figures = [dict(v) for k, v in props if k == PROP_FIGURE]


# -- the end of the session ------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # tryfirst: before session-scoped fixtures (the stack) are torn down, so secret sources
    # such as the mock provider's token list are still reachable.
    state = _state(session.config)
    _collect_source_secrets(state, session.config)
    if state.is_worker:
        output = getattr(session.config, "workeroutput", None)
        if output is not None:
            output["harness_secrets"] = sorted(state.redactor.originals)
        return
    strict = bool(session.config.getoption("harness_strict_catalog", default=False))
    if not state.records and not strict:
        return  # not a control run (the harness's own unit tests): write nothing
    finish_run(state, session.config, strict=strict)


def _collect_source_secrets(state: _State, config: pytest.Config) -> None:
    for source in list(_secret_sources):
        try:
            state.redactor.register_all(source())
        except Exception as exc:  # noqa: BLE001 - a dead mock must not lose the whole report
            _warn(
                config,
                f"harness: a secret source failed ({type(exc).__name__}: {exc}); "
                "evidence was redacted with the secrets known so far",
            )


def _warn(config: pytest.Config, message: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(message, yellow=True)
    else:
        print(message, file=sys.stderr)


def finish_run(state: _State, config: pytest.Config, *, strict: bool) -> Results:
    out = state.ensure_out()
    rescan_evidence(out, state.redactor)
    hashes = evidence_hashes(out)
    profile = state.profile
    controls, areas = fold_run(
        state.catalog,
        list(state.records.values()),
        strict=strict,
        evidence_hashes=hashes,
        not_applicable=dict(profile.not_applicable) if profile else {},
    )
    findings = [Finding.model_validate(f) for r in state.records.values() for f in r.findings]
    figures = [Figure.model_validate(f) for r in state.records.values() for f in r.figures]
    ended = time.time()
    previous = _previous_results(out, config)
    results = Results(
        run=RunInfo(
            id=state.run_id,
            target=_target_name(profile),
            profile=profile.name if profile else None,
            release=profile.release if profile else None,
            harness_version=__version__,
            git_sha=_git_sha(config.rootpath),
            start=_iso(state.started),
            end=_iso(ended),
            duration_s=round(ended - state.started, 3),
            pytest_args=[state.redactor.text(a) for a in config.invocation_params.args],
            faults=_faults(profile),
            strict_catalog=strict,
            areas=areas,
            previous_id=previous.run.id if previous else None,
        ),
        controls=controls,
        findings=findings,
        figures=figures,
        summary=summarise(controls),
    )
    save_results(results, out / RESULTS)
    if not config.getoption("harness_no_report", default=False):
        try:
            from harness.report import render_all

            render_all(results, out, previous=previous)
        except Exception as exc:  # noqa: BLE001 - results.json stands; say the report broke
            _warn(config, f"harness: rendering the reports failed: {type(exc).__name__}: {exc}")
    write_manifest(out, state.run_id)
    update_latest(out, config.rootpath / "reports")
    counts = ", ".join(f"{k} {v}" for k, v in results.summary.items() if v and k != "total")
    state.summary_line = f"{len(controls)} controls ({counts}) -> {out / RESULTS}"
    return results


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    line = config.stash[_STATE].summary_line if _STATE in config.stash else None
    if line:
        terminalreporter.write_sep("-", "harness")
        terminalreporter.write_line(line)


def _previous_results(out: Path, config: pytest.Config) -> Results | None:
    from harness.results import load_results

    latest = config.rootpath / "reports" / "latest" / RESULTS
    try:
        if not latest.is_file() or latest.resolve().parent == out.resolve():
            return None
        return load_results(latest)
    except (ResultsError, OSError):
        return None


def _target_name(profile: Profile | None) -> str | None:
    if profile is None:
        return None
    if profile.target.base_url:
        return profile.target.base_url
    return f"{profile.provider} stack {profile.stack!r} (profile {profile.name})"


def _faults(profile: Profile | None) -> list[str]:
    faults = list(profile.faults) if profile else []
    for name in os.environ.get("BRIDGE_FAULTS", "").split(","):
        if name.strip() and name.strip() not in faults:
            faults.append(name.strip())
    return faults


def _git_sha(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and len(sha) == 40 else None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
