"""The seal: a signed manifest of every file of a run folder, and `harness verify`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness.commands.verify_cmds import verify as verify_cmd
from harness.rundir import RunDir
from harness.seal import SealError, seal, signing_key, verify

DATA = Path(__file__).parent / "data"
RUN_ID = "20261124T020000Z-3fa9c2"


@pytest.fixture
def sealed(tmp_path: Path) -> RunDir:
    folder = tmp_path / "reports" / RUN_ID
    shutil.copytree(DATA / "sample-run", folder)
    (folder / "report.html").write_text("<html>report</html>\n")
    run = RunDir(path=folder, run_id=RUN_ID, reports_root=folder.parent)
    seal(run, signing_key(None))
    return run


def _pem(tmp_path: Path, name: str = "key.pem") -> Path:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def test_a_fresh_seal_verifies(sealed: RunDir) -> None:
    result = verify(sealed.path)
    assert result.ok and result.signature_ok
    assert result.checked == len(sealed.files()) - 2  # all but manifest.json and manifest.sig


def test_one_changed_byte_in_any_file_fails(sealed: RunDir) -> None:
    files = [p for p in sealed.files() if p.name not in ("manifest.json", "manifest.sig")]
    assert len(files) > 3
    for rel in files:
        target = sealed.path / rel
        original = target.read_bytes()
        target.write_bytes(bytes([original[0] ^ 1]) + original[1:])
        result = verify(sealed.path)
        assert not result.ok, rel
        assert result.changed == [rel.as_posix()]
        target.write_bytes(original)
    assert verify(sealed.path).ok


def test_missing_extra_and_edited_manifest_are_reported(sealed: RunDir) -> None:
    (sealed.path / "summary.md").write_text("added later\n")
    (sealed.path / "report.html").unlink()
    result = verify(sealed.path)
    assert result.missing == ["report.html"] and result.extra == ["summary.md"]
    manifest = sealed.path / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"sha256"', '"sha256" ', 1))
    assert not verify(sealed.path).signature_ok


def test_verify_command_exit_codes(sealed: RunDir, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(verify_cmd, [str(sealed.path)])
    assert done.exit_code == 0, done.output
    assert "signature: valid" in done.output
    (sealed.path / "results.json").write_text("{}")
    done = runner.invoke(verify_cmd, [str(sealed.path)])
    assert done.exit_code == 1
    assert "changed: results.json" in done.output
    done = runner.invoke(verify_cmd, [str(tmp_path)])
    assert done.exit_code == 2
    assert "no manifest.json" in done.output


def test_a_user_key_and_an_explicit_public_key(sealed: RunDir, tmp_path: Path) -> None:
    pem = _pem(tmp_path)
    key = signing_key(pem)
    assert not key.generated
    seal(sealed, key)
    public = tmp_path / "public.pem"
    public.write_text(key.public_pem)
    assert verify(sealed.path, public).ok
    other = signing_key(_pem(tmp_path, "other.pem"))
    public.write_text(other.public_pem)
    assert not verify(sealed.path, public).signature_ok


def test_signing_key_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pem = _pem(tmp_path)
    monkeypatch.setenv("HARNESS_SIGNING_KEY", str(pem))
    assert signing_key(None).fingerprint == signing_key(pem).fingerprint
    monkeypatch.setenv("HARNESS_SIGNING_KEY", pem.read_text())  # the PEM text itself
    assert signing_key(None).fingerprint == signing_key(pem).fingerprint


def test_bad_keys_say_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(SealError, match="cannot read"):
        signing_key(tmp_path / "nope.pem")
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(SealError, match="openssl genpkey -algorithm ed25519"):
        signing_key(tmp_path / "bad.pem")
