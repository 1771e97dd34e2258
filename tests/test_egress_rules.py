"""Every connection the harness opens goes through a guard module; bare clients are forbidden.

A bare ``httpx.get``, ``httpx.Client(``, raw socket or browser launch skips the scope allow-list,
``scope.exclude`` and the safety mode. Only the guard modules may build them.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCANNED = ["harness", "suites"]
GUARDS = {
    "harness/scope.py",
    "harness/guard_browser.py",
    "harness/guard_process.py",
    "harness/api/transport.py",  # the requests session Schemathesis sends with
}
FORBIDDEN = re.compile(
    r"httpx\.(get|post|put|patch|delete|head|options|request|stream)\("
    r"|httpx\.(Client|AsyncClient|HTTPTransport|AsyncHTTPTransport)\("
    r"|from httpx import [^\n]*\b(Client|AsyncClient|get|post|request|stream)\b"
    r"|socket\.create_connection|\.launch\(|\.launch_persistent_context\("
    r"|requests\.(get|post|put|patch|delete|head|options|request|Session)\("
)


def _offenders() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel in GUARDS:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if FORBIDDEN.search(code):
                    found.setdefault(rel, []).append(f"{rel}:{number}: {line.strip()}")
    return found


def test_no_bare_client_outside_the_guard_modules() -> None:
    new = _offenders()
    assert not new, (
        "build clients with harness.scope.scoped_client / scoped_async_client / open_connection "
        "(or the browser and process guards), never directly:\n"
        + "\n".join(line for lines in new.values() for line in lines)
    )


def test_the_rule_sees_what_it_forbids() -> None:
    for line in (
        "r = httpx.get(url)",
        "with httpx.Client(timeout=3) as c:",
        "c = httpx.AsyncClient()",
        "s = socket.create_connection((h, p))",
        "b = p.chromium.launch(executable_path=x)",
        "from httpx import Client",
        "s = requests.Session()",
        "requests.get(url)",
    ):
        assert FORBIDDEN.search(line), line
    for line in ("client.get(url)", "scoped_client(guard)", "httpx.Timeout(3)", "httpx.URL(u)"):
        assert not FORBIDDEN.search(line), line
