"""PERF-05's reading of py-spy's collapsed stacks, its verdict and its chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.probes import profiling

SERVING = (
    "main (app.py:3);Runner.run (asyncio/runners.py:118);handle (app.py:40) 30\n"
    "main (app.py:3);Runner.run (asyncio/runners.py:118);send (uvicorn/h.py:522) 25\n"
    "main (app.py:3);Runner.run (asyncio/runners.py:118);send (uvicorn/h.py:549) 20\n"
    "main (app.py:3);dumps (json/__init__.py:231) 25\n"
)
STARTUP = "<module> (app.py:1);_find_and_load (<frozen importlib._bootstrap>:1);exec (x.py:2) 900\n"
HOT = "main (app.py:3);version (api.py:80);_checksum (api.py:71) 400\n"


def test_self_samples_per_function_across_lines_without_startup() -> None:
    result = profiling.parse_raw(SERVING + STARTUP + "garbage line\n")
    assert result.samples == 100 and result.import_samples == 900
    assert [(t.function, t.samples) for t in result.top[:2]] == [
        ("send (uvicorn/h.py)", 45),
        ("handle (app.py)", 30),
    ]
    assert profiling.problems(result, 0.5) == []  # the positive control: spread work passes


def test_one_function_owning_the_cpu_fails() -> None:
    result = profiling.parse_raw(SERVING + HOT)
    found = profiling.problems(result, 0.5)
    assert len(found) == 1 and found[0].startswith("_checksum (api.py) owns 80% of 500")


def test_nothing_sampled_is_no_verdict() -> None:
    assert profiling.parse_raw("").top == []
    assert profiling.problems(profiling.parse_raw(""), 0.5) == []


def test_record_argv_launches_the_command_under_the_profiler(tmp_path: Path) -> None:
    argv = profiling.record_argv(
        "py-spy", tmp_path / "p.txt", ["python", "-m", "app", "--port", "{port}"], 4321, 14.6, 50
    )
    assert argv[:2] == ["py-spy", "record"] and "--gil" in argv
    assert argv[argv.index("--duration") + 1] == "15"
    assert argv[argv.index("--") + 1 :] == ["python", "-m", "app", "--port", "4321"]


def test_chart_is_escaped_svg() -> None:
    result = profiling.parse_raw("main;<script>alert(1)</script> (x.py:1) 5\n")
    svg = profiling.bar_chart(result, "t & <b>")
    root = ET.fromstring(svg)  # noqa: S314 (our own output) well-formed: every text escaped
    assert root.tag.endswith("svg") and "<script>" not in svg
