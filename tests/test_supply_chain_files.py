"""The supply-chain checks' file view and the offline advisory mirror (no scanner runs)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from harness.profile import Profile
from harness.profile.supply_chain_section import FileVariants, SupplyChainSettings
from harness.supply_chain.advisories import affects, serve_mirror
from harness.supply_chain.context import SupplyChain
from harness.supply_chain.deployfiles import substitute_args
from harness.supply_chain.files import FileView, excluded, stage_source
from harness.supply_chain.sbom import validate_sbom
from harness.verdicts import NotApplicable


def _tree(tmp_path: Path) -> tuple[Path, SupplyChainSettings]:
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "main.py").write_text("print('clean')\n")
    (app / "requirements.txt").write_text("jinja2==3.1.6\n")
    variant = app / "variants" / "bad_pins"
    variant.mkdir(parents=True)
    (variant / "requirements.txt").write_text("jinja2==2.11.2\n")
    (variant / "README.md").write_text("describes the variant\n")
    settings = SupplyChainSettings(
        source="app",
        exclude=["variants"],
        dependencies=["app/requirements.txt"],
        variants={"source": FileVariants(root="app", variants="app/variants")},
    )
    return app, settings


def test_a_switched_on_variant_redirects_paths_and_leaves_the_tree_alone(tmp_path: Path) -> None:
    app, settings = _tree(tmp_path)
    clean = FileView(tmp_path, settings, [], tmp_path / "s1")
    assert clean.path("app/requirements.txt") == app / "requirements.txt"
    assert clean.overlaid == []

    view = FileView(tmp_path, settings, ["bad_pins", "not_a_file_fault"], tmp_path / "s2")
    redirected = view.path("app/requirements.txt")
    assert redirected != app / "requirements.txt"
    assert redirected.read_text() == "jinja2==2.11.2\n"
    assert view.path("app/pkg/main.py").read_text() == "print('clean')\n"
    # The variant's README describes it, the variants folder is not copied, the tree is intact.
    assert not (view.path("app") / "README.md").exists()
    assert not (view.path("app") / "variants").exists()
    assert (app / "requirements.txt").read_text() == "jinja2==3.1.6\n"
    assert view.overlaid == ["bad_pins (source) over app"]


def test_staging_drops_excluded_paths(tmp_path: Path) -> None:
    app, _ = _tree(tmp_path)
    copied = stage_source(app, ["variants"], tmp_path / "staged")
    assert sorted(copied) == ["pkg/main.py", "requirements.txt"]
    assert excluded("variants/bad_pins/requirements.txt", ["variants"])
    assert not excluded("pkg/variants.py", ["variants"])


def _record(name: str, fixed: str) -> dict[str, object]:
    return {
        "id": f"GHSA-test-{name}",
        "aliases": ["CVE-0000-0001"],
        "summary": "s",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }


def test_mirror_ranges_and_query_api(tmp_path: Path) -> None:
    record = _record("jinja2", "2.11.3")
    assert affects(record, "jinja2", "2.11.2")
    assert not affects(record, "jinja2", "2.11.3")
    assert not affects(record, "flask", "1.0")
    (tmp_path / "a.json").write_text(json.dumps(record))
    with serve_mirror(tmp_path) as (host, port, count):
        assert count == 1
        url = f"http://{host}:{port}/v1/query"
        hit = httpx.post(url, json={"package": {"name": "Jinja2"}, "version": "2.11.2"}).json()
        miss = httpx.post(url, json={"package": {"name": "jinja2"}, "version": "3.1.6"}).json()
    assert [v["id"] for v in hit["vulns"]] == ["GHSA-test-jinja2"]
    assert miss == {}


def test_build_arguments_resolve_into_from() -> None:
    text = "ARG BASE=debian:bookworm-slim\nFROM ${BASE}\nRUN echo $BASE\n"
    assert (
        substitute_args(text)
        == "ARG BASE=debian:bookworm-slim\nFROM debian:bookworm-slim\nRUN echo $BASE\n"
    )


def test_sbom_validation_sees_a_valid_and_an_invalid_document(tmp_path: Path) -> None:
    valid = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "library", "name": "jinja2", "version": "3.1.6"}],
    }
    good = tmp_path / "good.json"
    good.write_text(json.dumps(valid))
    assert validate_sbom(good).errors == []
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**valid, "components": [{"type": "not-a-type", "name": 1}]}))
    assert validate_sbom(broken).errors


def test_a_profile_without_a_source_tree_is_not_applicable(tmp_path: Path) -> None:
    context = SupplyChain(Profile(), base=tmp_path, scratch=tmp_path / "s")
    with pytest.raises(NotApplicable, match=r"supply_chain\.source"):
        context.staged_source("SC-01")
    assert context.note() == "files read as they are (no file variant switched on)"
