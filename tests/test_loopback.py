"""Source addresses: the default range keeps the suites' slots, other targets get none."""

from __future__ import annotations

import pytest

from harness.loopback import SOURCE_NETWORK_ENV, burst, source, usable
from harness.profile import Profile, TargetSettings
from harness.target import Target


def test_default_range_keeps_the_slots() -> None:
    assert source(62) == "127.0.0.62"
    assert source(76, 3) == "127.0.76.3"
    assert burst(81, 2) == ["127.0.81.1", "127.0.81.2"]


def test_a_configured_range_moves_every_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOURCE_NETWORK_ENV, "10.9.0.0/16")
    assert source(62) == "10.9.0.62"
    assert source(76, 3) == "10.9.76.3"
    # A routable range is the user's own choice: used for any target.
    assert usable(source(62), "https://app.example.test") == "10.9.0.62"


@pytest.mark.parametrize("value", ["10.9.0.0/24", "::1/128", "nonsense"])
def test_a_bad_range_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(SOURCE_NETWORK_ENV, value)
    with pytest.raises(ValueError, match="IPv4 network of /16 or wider"):
        source(1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", "127.0.0.62"),
        ("https://localhost:8443/x", "127.0.0.62"),
        ("https://127.5.5.5", "127.0.0.62"),
        ("https://[::1]:8443", None),  # an IPv4 source cannot reach an IPv6 target
        ("https://app.example.test", None),  # nor one off this machine
        ("http://192.0.2.10", None),
    ],
)
def test_loopback_sources_only_for_loopback_targets(url: str, expected: str | None) -> None:
    assert usable("127.0.0.62", url) == expected
    assert usable(None, url) is None


def test_off_sends_from_the_systems_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOURCE_NETWORK_ENV, "off")
    assert source(62) == "127.0.0.62"  # the suites still import
    assert usable(source(62), "http://127.0.0.1:8000") is None


def test_target_client_drops_a_source_the_target_cannot_answer() -> None:
    target = Target(Profile(name="p", target=TargetSettings(base_url="http://127.0.0.1:9")))
    # httpx keeps the source address in the transport's connection pool.
    with target.client(base="https://192.0.2.10", local_address="127.0.0.62") as client:
        assert _source_of(client) is None
    with target.client(local_address="127.0.0.62") as client:
        assert _source_of(client) == "127.0.0.62"


def _source_of(client: object) -> str | None:
    transport = client._transport  # type: ignore[attr-defined]
    inner = transport._inner  # the guard wraps httpx's own transport
    return inner._pool._local_address  # type: ignore[no-any-return]
