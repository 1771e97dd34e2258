"""Unit tests for harness.probes.tamper."""

from __future__ import annotations

import base64
import json
import pickle

from harness.probes.bounded import Fetched
from harness.probes.tamper import judge, variants

SIGNED = "c2Vzc2lvbi1pZC0xMjM0.ZXhhbXBsZXNpZ25hdHVyZQ"


def _decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_variants_cover_the_documented_kinds_and_never_repeat_the_real_value():
    made = variants(SIGNED, [7], ["alice"])
    names = " ".join(v.name for v in made)
    for kind in (
        "forged",
        "truncated",
        "bit-flipped",
        "unsigned",
        "base64-JSON",
        "pickled",
        "alg=none",
    ):
        assert kind in names
    assert SIGNED not in [v.value for v in made]
    assert len({v.value for v in made}) == len(made)


def test_bit_flips_change_significant_bits():
    for variant in variants(SIGNED, [1], ["a"]):
        if variant.name.startswith("bit-flipped"):
            payload, _, sig = variant.value.partition(".")
            assert (_decode(payload), _decode(sig)) != tuple(_decode(p) for p in SIGNED.split("."))


def test_client_side_payloads_decode_to_identity_claims():
    made = {v.name: v.value for v in variants(SIGNED, [7], ["alice"])}
    claim = json.loads(_decode(made["unsigned base64-JSON #1"]))
    assert claim["user_id"] == 7 and claim["username"] == "alice"
    assert pickle.loads(_decode(made["pickled dict #1"]))["user_id"] == 7  # noqa: S301


def _answer(status: int, location: str | None = None) -> Fetched:
    headers = {"location": location} if location else {}
    return Fetched(method="GET", url="/x", status=status, headers=headers)


def test_judge():
    variant = variants(SIGNED, [1], ["a"])[0]
    assert not judge(variant, _answer(401), "/login").accepted
    assert not judge(variant, _answer(302, "/login?next=/x"), "/login").accepted
    assert judge(variant, _answer(200), "/login").accepted
    assert judge(variant, _answer(302, "/dashboard"), "/login").accepted
    assert judge(variant, _answer(500), "/login").server_error
