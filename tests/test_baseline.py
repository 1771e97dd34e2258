"""One baseline reader for the gate and the DAST control."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.baseline import BaselineError, load_baseline


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ('["aaaa", {"id": "bbbb"}]', {"aaaa", "bbbb"}),
        ('{"findings": [{"id": "cccc", "rule": "zap:1"}, "dddd"]}', {"cccc", "dddd"}),
        ("# accepted\neeee\n\nffff  # known false positive\n", {"eeee", "ffff"}),
        ("", set()),
    ],
)
def test_formats(tmp_path: Path, text: str, ids: set[str]) -> None:
    path = tmp_path / "baseline"
    path.write_text(text)
    assert load_baseline(path) == ids


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "entries must be finding ids"),
        ('{"findings": "x"}', "must be a list"),
        ("[oops", "not valid JSON"),
    ],
)
def test_bad_baselines(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "baseline"
    path.write_text(text)
    with pytest.raises(BaselineError, match=message):
        load_baseline(path)
    with pytest.raises(BaselineError, match="cannot read"):
        load_baseline(tmp_path / "missing")


def test_the_dast_control_reads_the_documented_line_format(tmp_path: Path) -> None:
    """The profile docs promise one id per line for dast.baseline; that used to error."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "dast_suite", Path(__file__).parent.parent / "suites" / "owasp" / "test_dast.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / "dast-baseline.txt"
    path.write_text("0123456789abcdef\n# comment\nfedcba9876543210\n")

    class Dast:
        baseline = str(path)

    class Profile:
        dast = Dast()

    assert module._baseline(Profile()) == {"0123456789abcdef", "fedcba9876543210"}
