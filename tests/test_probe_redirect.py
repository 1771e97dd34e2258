"""Unit tests for harness.probes.redirect."""

from __future__ import annotations

from harness.probes.bounded import Fetched
from harness.probes.redirect import judge, leaves_origin

HERE = "https://127.0.0.1:8443/login?next=x"


def test_same_origin_paths_stay():
    for location in ("/dashboard", "/playlists?x=1", "https://127.0.0.1:8443/x"):
        assert not leaves_origin(HERE, location)[0], location


def test_attacker_hosts_in_every_disguise_escape():
    for location in (
        "https://evil.test/",
        "//evil.test/",
        "/\\evil.test/",
        "\\\\evil.test",
        "https://127.0.0.1:8443@evil.test/",
        "/\t/evil.test/",
        "javascript:alert(1)",
        "https://a.evil.test/",
    ):
        assert leaves_origin(HERE, location)[0], location


def test_a_fixed_third_party_redirect_is_not_an_open_redirect():
    assert not leaves_origin(HERE, "http://127.0.0.1:9001/authorize?client_id=x")[0]


def test_meta_refresh_to_the_attacker_counts():
    page = Fetched(
        method="GET",
        url=HERE,
        status=200,
        headers={},
        body='<meta http-equiv="refresh" content="0;url=https://evil.test/">',
    )
    assert judge(HERE, "next", "https://evil.test/", page).escaped
