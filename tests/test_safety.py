"""Safety modes: the guard refuses writes in safe mode and excluded operations in every mode,
before the inner transport sees the request; refusals are not_evaluated, never a pass."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.profile import Profile, ProfileError
from harness.safety import (
    Excluded,
    NeedsIntrusive,
    Rule,
    SafetyPolicy,
    SafetyRefusal,
    skipped_controls,
)
from harness.scope import ScopeGuard, scoped_async_client, scoped_client
from harness.target import Target
from harness.verdicts import NotEvaluated

BASE = "http://127.0.0.1:8000"


class Recorder(httpx.BaseTransport):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, text="ok")


def _profile(**overrides: Any) -> Profile:
    data: dict[str, Any] = {"provider": "external", "target": {"base_url": BASE}}
    data.update(overrides)
    return Profile.model_validate(data)


def _client(profile: Profile, recorder: Recorder) -> httpx.Client:
    guard = ScopeGuard(profile.scope.allow, policy=SafetyPolicy.from_profile(profile))
    return scoped_client(guard, base_url=BASE, transport=recorder)


@pytest.mark.parametrize(
    ("entry", "method", "url", "hit"),
    [
        ("POST /admin/reset-db", "POST", "/admin/reset-db", True),
        ("POST /admin/reset-db", "POST", "/admin/reset-db/", True),
        ("POST /admin/reset-db", "GET", "/admin/reset-db", False),
        ("/admin/reset-db", "GET", "/admin/reset-db?x=1", True),
        ("DELETE /items/{id}", "DELETE", "/items/42", True),
        ("DELETE /items/{id}", "DELETE", "/items/42/tags", False),
        ("PUT|PATCH /settings", "PATCH", "/settings", True),
        ("* /admin/*", "GET", "/admin/a/b", True),
        ("/admin/*", "POST", "/public", False),
        ("http://127.0.0.1:8000/admin/*", "POST", "/admin/x", True),
        ("http://127.0.0.2:8000/admin/*", "POST", "/admin/x", False),
        ("HTTP://127.0.0.1:8000/Admin/*", "POST", "/admin/x", True),
    ],
)
def test_rules_match_methods_templates_and_url_patterns(
    entry: str, method: str, url: str, hit: bool
) -> None:
    rule = Rule.parse(entry, "scope.exclude")
    assert rule.matches(method, httpx.URL(BASE + url)) is hit


@pytest.mark.parametrize("entry", ["", "reset-db", "POST reset", "POST"])
def test_a_bad_entry_is_one_line_that_says_what_to_write(entry: str) -> None:
    with pytest.raises(ProfileError, match="scope.exclude entry .*METHOD /path") as caught:
        Rule.parse(entry, "scope.exclude")
    assert "\n" not in str(caught.value)


def test_safe_mode_refuses_writes_before_they_are_sent() -> None:
    recorder = Recorder()
    with _client(_profile(safety="safe"), recorder) as client:
        assert client.get("/settings").status_code == 200
        assert client.head("/settings").status_code == 200
        for method in ("POST", "PUT", "PATCH", "DELETE", "FOO"):
            with pytest.raises(NeedsIntrusive, match="needs safety = intrusive") as caught:
                client.request(method, "/settings/reset")
            assert isinstance(caught.value, NotEvaluated)
            assert not isinstance(caught.value, Exception)  # no `except Exception` swallows it
    assert recorder.seen == ["GET /settings", "HEAD /settings"]


def test_external_targets_default_to_safe_and_started_stacks_to_intrusive() -> None:
    assert SafetyPolicy.from_profile(_profile()).safe
    assert not SafetyPolicy.from_profile(Profile()).safe
    assert not SafetyPolicy.from_profile(_profile(safety="intrusive")).safe


def test_allow_writes_lets_listed_operations_through() -> None:
    recorder = Recorder()
    profile = _profile(safety="safe", scope={"allow_writes": ["POST /search", "PUT /notes/{id}"]})
    with _client(profile, recorder) as client:
        client.post("/search", json={})
        client.put("/notes/7", json={})
        with pytest.raises(NeedsIntrusive):
            client.put("/notes/7/share", json={})
    assert recorder.seen == ["POST /search", "PUT /notes/7"]


def test_the_profile_login_counts_as_allowed_when_it_names_users() -> None:
    auth = {"users": [{"name": "alice", "password": "pw"}], "login_path": "/login"}
    recorder = Recorder()
    with _client(_profile(safety="safe", auth=auth), recorder) as client:
        client.post("/login", data={})
    assert recorder.seen == ["POST /login"]
    with _client(_profile(safety="safe"), Recorder()) as client, pytest.raises(NeedsIntrusive):
        client.post("/login", data={})


@pytest.mark.parametrize("mode", ["safe", "intrusive"])
def test_excluded_operations_are_never_sent_in_any_mode(mode: str) -> None:
    recorder = Recorder()
    profile = _profile(
        safety=mode, scope={"exclude": ["POST /admin/reset-db"], "allow_writes": ["POST /admin/*"]}
    )
    with _client(profile, recorder) as client:
        with pytest.raises(Excluded, match="excluded by scope.exclude"):
            client.post("/admin/reset-db")
        client.get("/admin/reset-db")  # only POST is excluded
    assert recorder.seen == ["GET /admin/reset-db"]


def test_intrusive_mode_sends_every_write() -> None:
    recorder = Recorder()
    with _client(_profile(safety="intrusive"), recorder) as client:
        client.post("/settings/reset")
        client.delete("/items/1")
    assert recorder.seen == ["POST /settings/reset", "DELETE /items/1"]


def test_redirects_to_a_write_are_checked_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/go":
            return httpx.Response(307, headers={"location": "/admin/reset-db"})
        return httpx.Response(200)

    profile = _profile(safety="intrusive", scope={"exclude": ["/admin/reset-db"]})
    guard = ScopeGuard(profile.scope.allow, policy=SafetyPolicy.from_profile(profile))
    transport = httpx.MockTransport(handler)
    client = scoped_client(guard, base_url=BASE, transport=transport, follow_redirects=True)
    with client, pytest.raises(Excluded):
        client.post("/go")


def test_async_clients_apply_the_policy() -> None:
    async def run() -> None:
        profile = _profile(safety="safe")
        guard = ScopeGuard(profile.scope.allow, policy=SafetyPolicy.from_profile(profile))
        transport = httpx.MockTransport(lambda r: httpx.Response(200))
        async with scoped_async_client(guard, base_url=BASE, transport=transport) as client:
            assert (await client.get("/")).status_code == 200
            with pytest.raises(NeedsIntrusive):
                await client.post("/x")

    asyncio.run(run())


def test_the_target_builds_every_client_with_the_profile_policy() -> None:
    target = Target(_profile(safety="safe", scope={"exclude": ["/danger"]}))
    assert target.guard.policy is target.safety
    with target.client() as client:
        with pytest.raises(NeedsIntrusive):
            client.post("/anything")
        with pytest.raises(Excluded):
            client.get("/danger")
    assert set(target.safety.refused) == {"POST /anything", "GET /danger"}


def test_require_intrusive_is_a_not_evaluated_in_safe_mode_only() -> None:
    safe = SafetyPolicy.from_profile(_profile(safety="safe"))
    with pytest.raises(NeedsIntrusive, match=r"needs safety = intrusive \(a burst\)"):
        safe.require_intrusive("a burst")
    SafetyPolicy.from_profile(_profile(safety="intrusive")).require_intrusive("a burst")


def test_a_base_path_prefix_does_not_hide_an_operation() -> None:
    profile = Profile.model_validate(
        {
            "provider": "external",
            "target": {"base_url": "http://127.0.0.1:8000/app"},
            "scope": {"exclude": ["POST /admin/reset-db"]},
        }
    )
    refused = SafetyPolicy.from_profile(profile).refusal(
        "POST", "http://127.0.0.1:8000/app/admin/reset-db"
    )
    assert isinstance(refused, Excluded)


def test_safe_mode_paces_under_the_profile_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("harness.safety.time.monotonic", lambda: clock[0])
    policy = SafetyPolicy.from_profile(
        _profile(safety="safe", limits={"api_requests": 2, "api_window_s": 10})
    )
    assert [policy.delay(), policy.delay()] == [0.0, 0.0]
    assert policy.delay() == pytest.approx(10.0)
    intrusive = SafetyPolicy.from_profile(
        _profile(safety="intrusive", limits={"api_requests": 2, "api_window_s": 10})
    )
    assert [intrusive.delay() for _ in range(5)] == [0.0] * 5


def test_the_record_says_mode_lists_and_refusals(tmp_path: Path) -> None:
    policy = SafetyPolicy.from_profile(
        _profile(safety="safe", scope={"exclude": ["POST /admin/reset-db"]})
    )
    with pytest.raises(SafetyRefusal):
        policy.check("POST", BASE + "/x")
    path = policy.write_record(tmp_path)
    other = SafetyPolicy.from_profile(_profile(safety="safe"))
    with pytest.raises(NeedsIntrusive):
        other.require_intrusive("stored payloads")
    other.write_record(tmp_path)  # a second process merges into the same file
    import json

    record = json.loads(path.read_text())
    assert record["mode"] == "safe"
    assert {r["request"] for r in record["refused"]} == {"POST /x", "stored payloads"}
    lines = policy.describe()
    assert lines[0] == "safety = safe"
    assert any("POST /admin/reset-db" in line for line in lines)


def test_skipped_controls_lists_only_what_the_policy_held_back() -> None:
    rows = [
        ("AUTH-09", "not_evaluated", "needs safety = intrusive (a brute-force attempt)"),
        ("SEC-01", "pass", None),
        ("SEC-14", "not_evaluated", "zap is not installed"),
        ("SEC-02", "not_evaluated", "excluded by scope.exclude (refused POST /x)"),
    ]
    assert [s.split(":")[0] for s in skipped_controls(rows)] == ["AUTH-09", "SEC-02"]


@pytest.mark.parametrize("kwarg", ["mounts", "proxy"])
def test_clients_refuse_arguments_that_bypass_the_guard(kwarg: str) -> None:
    value: Any = {"all://": httpx.HTTPTransport()} if kwarg == "mounts" else "http://127.0.0.1:1"
    guard = ScopeGuard(["127.0.0.0/8"])
    with pytest.raises(TypeError, match="bypass the scope guard"):
        scoped_client(guard, **{kwarg: value})
    with pytest.raises(TypeError, match="bypass the scope guard"):
        scoped_async_client(guard, **{kwarg: value})


def test_environment_proxies_do_not_bypass_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with scoped_client(ScopeGuard(["127.0.0.0/8"])) as client:
        assert not client._mounts  # noqa: SLF001 - the proxy mounts are what would bypass it


def test_excluded_operations_leave_the_openapi_document() -> None:
    policy = SafetyPolicy.from_profile(
        _profile(safety="intrusive", scope={"exclude": ["POST /admin/reset-db", "/items/{id}"]})
    )
    document = {
        "openapi": "3.0.3",
        "paths": {
            "/admin/reset-db": {"post": {}, "get": {}, "parameters": []},
            "/items/{id}": {"get": {}, "delete": {}},
            "/items": {"post": {}},
        },
    }
    kept = policy.without_excluded(document)
    assert kept["paths"] == {
        "/admin/reset-db": {"get": {}, "parameters": []},
        "/items/{id}": {},
        "/items": {"post": {}},
    }
    assert set(policy.refused) == {"POST /admin/reset-db", "GET /items/{id}", "DELETE /items/{id}"}


def _html_client(profile: Profile, pages: dict[str, str], seen: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, html=pages.get(request.url.path, "<p>x</p>"))

    guard = ScopeGuard(profile.scope.allow, policy=SafetyPolicy.from_profile(profile))
    return scoped_client(guard, base_url=BASE, transport=httpx.MockTransport(handler))


def test_the_crawl_leaves_excluded_links_out_and_says_so() -> None:
    from harness.probes.crawl import crawl

    pages = {"/": '<a href="/admin/wipe">wipe</a><a href="/a">a</a>'}
    seen: list[str] = []
    profile = _profile(safety="intrusive", scope={"exclude": ["/admin/*"]})
    with _html_client(profile, pages, seen) as client:
        result = crawl(client, BASE, ["/"])
    assert seen == ["GET /", "GET /a"]
    assert result.excluded == [f"{BASE}/admin/wipe"]


def test_bounded_fetch_and_the_actor_let_a_refusal_through() -> None:
    from harness.probes.actor import Actor
    from harness.probes.bounded import fetch

    class _Session:
        def __init__(self, client: httpx.Client) -> None:
            self.client = client

        def headers_for_write(self) -> dict[str, str]:
            return {}

        def close(self) -> None:
            self.client.close()

    seen: list[str] = []
    with _html_client(_profile(safety="safe"), {}, seen) as client:
        with pytest.raises(NeedsIntrusive):
            fetch(client, "POST", "/items", total_s=2)
        actor = Actor(lambda: _Session(client))
        with pytest.raises(NeedsIntrusive):
            actor.send("DELETE", "/items/1")
    assert seen == []


def test_raw_connections_are_checked_against_the_allow_list() -> None:
    from harness.scope import OutOfScope, open_connection

    with pytest.raises(OutOfScope, match="outside the scope allow-list"):
        open_connection(ScopeGuard(["127.0.0.0/8"]), "10.1.2.3", 443, timeout=1)
