"""PERF-05: profile one more instance of the app under load, launched under ``py-spy record``.

py-spy cannot attach to a running interpreter on every machine (``--pid`` needs ptrace rights a
container may lack), but it can always sample a child it starts. So the probe runs the
profile's serve command, on a free port, under ``py-spy record --format raw`` through the stack
(``Executes.exec``: the app's environment and database), loads it with the profile's read
routes while py-spy samples (``--gil``: only threads running Python, so waiting in the event
loop is not counted as work), and reads the collapsed stacks py-spy writes when ``--duration``
ends (it then stops the child). A function's share is its self samples (leaf frames) over all
samples; the verdict fails when one function owns more than the profile's share.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

from pydantic import BaseModel, Field

# py-spy names frozen modules' frames "<frozen importlib._bootstrap>" and "..._external>".
_IMPORTING = "<frozen importlib._bootstrap"
_LINE = re.compile(r":\d+\)$")


class FunctionShare(BaseModel):
    function: str
    samples: int
    share: float


class Profile(BaseModel):
    samples: int = 0
    import_samples: int = Field(default=0, description="start-up samples left out")
    top: list[FunctionShare] = Field(default_factory=list)


def py_spy() -> str | None:
    """py-spy beside this interpreter (a virtualenv's bin), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def record_argv(
    tool: str, out: Path, command: list[str], port: int, duration_s: float, rate_hz: int
) -> list[str]:
    serve = [part.replace("{port}", str(port)) for part in command]
    return [
        tool, "record", "--format", "raw", "--output", str(out),
        "--duration", str(max(1, round(duration_s))), "--rate", str(rate_hz),
        "--nonblocking", "--gil", "--", *serve,
    ]  # fmt: skip


def parse_raw(text: str, top: int = 15) -> Profile:
    """Collapsed stacks (``frame;frame;leaf COUNT`` per line) -> self samples per function.

    Stacks inside the import system are start-up, not serving: they are left out (``imports``
    counts them)."""
    leaves: Counter[str] = Counter()
    imports = 0
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        if _IMPORTING in stack:
            imports += int(count)
            continue
        # One function, whichever of its lines was running: "f (file.py:12)" -> "f (file.py)".
        leaves[_LINE.sub(")", stack.split(";")[-1].strip())] += int(count)
    total = sum(leaves.values())
    return Profile(
        samples=total,
        import_samples=imports,
        top=[
            FunctionShare(function=name, samples=n, share=round(n / total, 4))
            for name, n in leaves.most_common(top)
        ]
        if total
        else [],
    )


def problems(profile: Profile, max_share: float) -> list[str]:
    if not profile.top:
        return []
    first = profile.top[0]
    if first.share > max_share:
        return [
            f"{first.function} owns {first.share:.0%} of {profile.samples} CPU samples under "
            f"load (at most {max_share:.0%} for one function)"
        ]
    return []


def bar_chart(profile: Profile, title: str) -> str:
    """The top functions as a horizontal bar chart (SVG, every text escaped)."""
    rows = profile.top[:12]
    label_w, bar_w, row_h = 420, 300, 20
    height = row_h * len(rows) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" '
        f'height="{height}" font-family="sans-serif" font-size="11">',
        f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, row in enumerate(rows):
        y = 24 + i * row_h
        name = row.function if len(row.function) <= 70 else row.function[:69] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(name)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(1.0, bar_w * row.share):.1f}" '
            f'height="{row_h - 6}" fill="#cf6a2e"/>'
        )
        parts.append(
            f'<text x="{label_w + bar_w * row.share + 6:.1f}" y="{y + 13}">{row.share:.1%}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
