"""Each supply-chain scanner on a small tree: it reports the planted problem (the failing side)
and nothing on the clean twin (the passing side). The tools run as the suite runs them, inside
the egress guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.supply_chain import committed_secrets, deployfiles, deps, sast, workflows
from harness.supply_chain.advisories import serve_mirror
from harness.supply_chain.tools import Scanners, find_tool
from harness.verdicts import NotEvaluated


@pytest.fixture
def scanners() -> Scanners:
    return Scanners(["127.0.0.0/8"], timeout_s=180)


def _needs(*tools: str) -> None:
    missing = [t for t in tools if find_tool(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (scripts/setup installs them)")


def test_bandit_fails_shell_true_and_the_baseline_accepts_it(scanners, tmp_path: Path) -> None:
    _needs("bandit")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.py").write_text("import json\n\nprint(json.dumps({}))\n")
    (tree / "bad.py").write_text(
        "import subprocess\n\n\ndef run(p):\n"
        "    return subprocess.check_output(f'du {p}', shell=True)\n"
    )
    result = sast.run_bandit(scanners, tree, tmp_path, None)
    assert [i.test_id for i in result.new if i.failing()] == ["B602"]
    assert result.files_scanned == 2
    # The same report as a baseline: nothing new.
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(result.report))
    again = sast.run_bandit(scanners, tree, tmp_path, baseline)
    assert again.new == [] and again.accepted == len(result.issues)
    finding = sast.to_finding(result.new[-1], tree)
    assert finding.url is not None and finding.url.startswith("bad.py:")


def test_pip_audit_against_the_mirror(scanners, tmp_path: Path) -> None:
    _needs("pip-audit")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    record = {
        "id": "GHSA-g3rq-g295-4j3m",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "jinja2"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.11.3"}]}
                ],
            }
        ],
    }
    (mirror / "r.json").write_text(json.dumps(record))
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("jinja2==2.11.2\n")
    new.write_text("jinja2==3.1.6\n")
    with serve_mirror(mirror) as (host, port, _):
        bad = deps.audit_file(scanners, "old.txt", old, tmp_path, (host, port))
        good = deps.audit_file(scanners, "new.txt", new, tmp_path, (host, port))
    assert [(v.package, v.advisory.id) for v in bad.vulnerable] == [
        ("jinja2", "GHSA-g3rq-g295-4j3m")
    ]
    assert good.vulnerable == [] and good.packages == 1
    # No mirror and the public service outside the allow-list: not evaluated, nothing sent.
    with pytest.raises(NotEvaluated, match="no advisory source is reachable"):
        deps.audit_file(scanners, "new.txt", new, tmp_path, None)


def test_checkov_judges_root_and_missing_healthcheck(scanners, tmp_path: Path) -> None:
    _needs("checkov")
    good, bad = tmp_path / "good.Containerfile", tmp_path / "bad.Containerfile"
    good.write_text(
        "ARG BASE=debian:bookworm-slim\nFROM ${BASE}\nUSER app\n"
        'HEALTHCHECK CMD ["true"]\nCMD ["sleep", "1"]\n'
    )
    bad.write_text('FROM debian:bookworm-slim\nUSER root\nCMD ["sleep", "1"]\n')
    scan = deployfiles.scan_deploy_files(
        scanners, [("good.Containerfile", good), ("bad.Containerfile", bad)], [], tmp_path
    )
    failed = {(c.file, c.id) for c in scan.failed}
    assert ("bad.Containerfile", "CKV_DOCKER_8") in failed
    assert ("bad.Containerfile", "CKV_DOCKER_2") in failed
    assert not {f for f in failed if f[0] == "good.Containerfile"}
    assert {"CKV_DOCKER_7", "CKV_DOCKER_8"} <= {c.id for c in scan.passed}


GOOD_WORKFLOW = """name: ci
on: [pull_request]
permissions:
  contents: read
jobs:
  t:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - run: echo ok
"""


def test_workflow_scanners(scanners, tmp_path: Path) -> None:
    _needs("zizmor", "actionlint")
    good = tmp_path / "good.yml"
    good.write_text(GOOD_WORKFLOW)
    bad = tmp_path / "bad.yml"
    bad.write_text(
        GOOD_WORKFLOW.replace("@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "@v4").replace(
            "echo ok", 'echo "${{ github.event.pull_request.title }}"'
        )
    )
    files = [("good.yml", good), ("bad.yml", bad)]
    problems = [
        *workflows.run_zizmor(scanners, files, tmp_path),
        *workflows.run_actionlint(scanners, files, tmp_path),
    ]
    failing = {(p.engine, p.rule, p.file) for p in problems if p.failing}
    assert ("zizmor", "unpinned-uses", "bad.yml") in failing
    assert ("zizmor", "template-injection", "bad.yml") in failing
    assert ("actionlint", "expression", "bad.yml") in failing
    assert not [p for p in problems if p.file == "good.yml"]


def test_detect_secrets(scanners, tmp_path: Path) -> None:
    _needs("detect-secrets")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.py").write_text("NAME = 'bridge'\n")
    found, plugins = committed_secrets.scan_secrets(scanners, tree, tmp_path)
    assert found == [] and plugins
    (tree / "keys.py").write_text('ACCESS_KEY_ID = "AKIAZ7QWERTYUIOPAS3D"\n')
    found, _ = committed_secrets.scan_secrets(scanners, tree, tmp_path)
    assert ("keys.py", "AWS Access Key") in {(s.file, s.type) for s in found}
