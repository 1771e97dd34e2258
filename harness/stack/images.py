"""Container engine access and the reference stack's images for the ``containers`` provider.

Every image is built locally from ``fixtures/stack/containers/<svc>.Containerfile`` with the
build argument ``BASE_IMAGE`` and tagged ``localhost/harness-<image>:<content hash>``: the hash
covers the container file, the rest of the build context (for the app: the wheels of the
``bridge-reference-stack`` distribution and of its dependencies) and the base image's id, so a
warm start finds its images and builds nothing.

The engine connection is :mod:`harness.stack.engine`. See docs/containers.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.stack.base import StackError
from harness.stack.engine import (  # re-exported: the provider and its tests use images.*
    Engine,
    EngineUnavailable,
    connect,
    engine_available,
    engine_url,
)

__all__ = [
    "Engine",
    "EngineUnavailable",
    "connect",
    "engine_available",
    "engine_url",
    "ensure_images",
    "prune_images",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "fixtures"
CONTAINER_FILES = FIXTURES / "stack" / "containers"
CACHE_DIR = REPO_ROOT / ".harness" / "containers"

LOCAL_BASE_IMAGE = "localhost/harness-base:bookworm"
PUBLIC_BASE_IMAGE = "debian:bookworm-slim"
CONTAINER_PYTHON = "3.11.2"  # Debian bookworm's python3: the app image's interpreter

# image name -> container file; the app image also runs both mocks.
IMAGES = {
    "app": "app.Containerfile",
    "postgres": "postgres.Containerfile",
    "redis": "redis.Containerfile",
    "nginx": "nginx.Containerfile",
}
# Files of fixtures/stack/containers that each image's context carries besides its container file.
CONTEXT_FILES = {
    "app": [],
    "postgres": ["postgres-entrypoint.sh"],
    "redis": [],
    "nginx": ["nginx-entrypoint.sh"],
}
_SKIP_NAMES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


def base_image(engine: Engine) -> str:
    """``HARNESS_BASE_IMAGE``, else the locally built Debian base, else the public one."""
    explicit = os.environ.get("HARNESS_BASE_IMAGE")
    if explicit:
        return explicit
    import docker.errors

    try:
        engine.client.images.get(LOCAL_BASE_IMAGE)
        return LOCAL_BASE_IMAGE
    except docker.errors.ImageNotFound:
        return PUBLIC_BASE_IMAGE


# ---------------------------------------------------------------------------------------------
# build contexts


def _tree_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _SKIP_NAMES or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file() and not path.name.endswith(_SKIP_SUFFIXES):
            files.append(path)
    return files


def _hash_files(files: list[tuple[str, Path]], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _app_source_files(packages: tuple[str, ...]) -> list[tuple[str, Path]]:
    """The app image's sources: the fixtures' pyproject and the stack definition's
    ``image_packages``."""
    files = [("pyproject.toml", FIXTURES / "pyproject.toml")]
    for package in packages:
        root = FIXTURES / package
        files += [(f"{package}/{p.relative_to(root)}", p) for p in _tree_files(root)]
    return files


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise StackError(f"pip {' '.join(args[:2])} failed for the app image:\n{tail}")


def _constraints() -> str:
    """The host environment's versions, so the image runs what the local provider runs."""
    from importlib import metadata

    own = {"bridge-reference-stack", "soulspot-harness"}
    pins = []
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        if name and name.lower() not in own:
            pins.append(f"{name}=={dist.version}")
    return "\n".join(sorted(set(pins), key=str.lower)) + "\n"


def _complete_for_container_python(wheels: Path, constraints: Path) -> None:
    """Add the wheels that only the image's Python needs.

    pip evaluates environment markers for the host interpreter (3.11.x); Debian bookworm's is
    3.11.2, and some distributions depend on a back-port below 3.11.3 (redis -> async-timeout).
    """
    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    host: dict[str, str] = {key: str(value) for key, value in default_environment().items()}
    target = dict(
        host,
        python_full_version=CONTAINER_PYTHON,
        python_version=".".join(CONTAINER_PYTHON.split(".")[:2]),
    )
    for _ in range(5):
        present = set()
        requires: list[Requirement] = []
        for wheel in wheels.glob("*.whl"):
            present.add(canonicalize_name(wheel.name.split("-")[0]))
            with zipfile.ZipFile(wheel) as archive:
                meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                text = archive.read(meta).decode("utf-8", "replace")
            for line in text.splitlines():
                if line.startswith("Requires-Dist:"):
                    with contextlib.suppress(InvalidRequirement):
                        requires.append(Requirement(line.split(":", 1)[1].strip()))
        missing = sorted(
            {
                str(req).split(";")[0].strip()
                for req in requires
                if req.marker is not None
                and req.marker.evaluate(dict(target, extra=""))
                and not req.marker.evaluate(dict(host, extra=""))
                and canonicalize_name(req.name) not in present
            }
        )
        if not missing:
            return
        _pip("wheel", "--quiet", "--wheel-dir", str(wheels), "-c", str(constraints), *missing)


def _deps_wheels() -> Path:
    """Wheels of the app's dependencies, cached by requirements and pinned versions."""
    project = tomllib.loads((FIXTURES / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = "\n".join(project.get("dependencies", [])) + "\n"
    constraints = _constraints()
    key = hashlib.sha256(
        (requirements + constraints + sys.version + CONTAINER_PYTHON).encode()
    ).hexdigest()[:16]
    target = CACHE_DIR / "wheels" / f"deps-{key}"
    if (target / "requirements.txt").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-", dir=target.parent))
    try:
        (staging / "requirements.in").write_text(requirements)
        (staging / "constraints.txt").write_text(constraints)
        _pip(
            "wheel",
            "--quiet",
            "--wheel-dir",
            str(staging),
            "-r",
            str(staging / "requirements.in"),
            "-c",
            str(staging / "constraints.txt"),
        )
        _complete_for_container_python(staging, staging / "constraints.txt")
        (staging / "constraints.txt").unlink()
        (staging / "requirements.in").rename(staging / "requirements.txt")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _app_wheel(source_key: str, packages: tuple[str, ...]) -> Path:
    """The bridge-reference-stack wheel, built from a clean copy of its packages."""
    target = CACHE_DIR / "wheels" / f"app-{source_key[:16]}"
    if target.is_dir() and any(target.glob("*.whl")):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="app-src-", dir=target.parent) as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for rel, path in _app_source_files(packages):
            dest = src / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        out = Path(tmp) / "out"
        _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(src))
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out, target)
    # Every source edit makes a new wheel: keep the last few only.
    older = sorted(target.parent.glob("app-*"), key=lambda p: p.stat().st_mtime)[:-3]
    for stale in older:
        if stale != target and not stale.name.startswith("app-src-"):
            shutil.rmtree(stale, ignore_errors=True)
    return target


def prepare_context(image: str, dest: Path, packages: tuple[str, ...] = ()) -> None:
    """Fill ``dest`` with the build context of ``image``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(CONTAINER_FILES / IMAGES[image], dest / "Containerfile")
    for name in CONTEXT_FILES[image]:
        shutil.copy2(CONTAINER_FILES / name, dest / name)
    if image == "app":
        source_key = _hash_files(_app_source_files(packages))
        shutil.copytree(_deps_wheels(), dest / "wheels" / "deps")
        shutil.copytree(_app_wheel(source_key, packages), dest / "wheels" / "app")


def image_key(image: str, base_id: str, packages: tuple[str, ...] = ()) -> str:
    """Content hash of an image's inputs (without building its context)."""
    files = [("Containerfile", CONTAINER_FILES / IMAGES[image])]
    files += [(name, CONTAINER_FILES / name) for name in CONTEXT_FILES[image]]
    extra = f"{image}\0{base_id}"
    if image == "app":
        project = tomllib.loads((FIXTURES / "pyproject.toml").read_text(encoding="utf-8"))
        extra += "\0" + json.dumps(project["project"].get("dependencies", [])) + _constraints()
        files += _app_source_files(packages)
    return _hash_files(files, extra)[:16]


# ---------------------------------------------------------------------------------------------
# images


@dataclass
class BuiltImage:
    image: str
    tag: str
    built: bool
    seconds: float


def _lock():
    from filelock import FileLock

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return FileLock(str(CACHE_DIR / "build.lock"), timeout=900)


def _base_id(engine: Engine, base: str) -> str:
    import docker.errors

    try:
        return str(engine.client.images.get(base).id)
    except docker.errors.ImageNotFound:
        if base == LOCAL_BASE_IMAGE or base.startswith("localhost/"):
            raise StackError(
                f"base image {base} is missing: run scripts/setup-containers as root"
            ) from None
        # A registry image: pull it once (Docker hosts); the digest pins the cache key.
        try:
            return str(engine.client.images.pull(base).id)
        except Exception as exc:  # noqa: BLE001
            raise StackError(
                f"base image {base} is not present and cannot be pulled ({exc}); on a machine "
                "without a registry run scripts/setup-containers and use "
                f"{LOCAL_BASE_IMAGE}"
            ) from None


def ensure_image(
    engine: Engine, image: str, base: str | None = None, packages: tuple[str, ...] = ()
) -> BuiltImage:
    """Build ``image`` unless an image with the same content hash exists; return its tag."""
    import docker.errors

    base = base or base_image(engine)
    started = time.monotonic()
    with _lock():
        tag = f"localhost/harness-{image}:{image_key(image, _base_id(engine, base), packages)}"
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.client.images.get(tag)
            return BuiltImage(image, tag, False, time.monotonic() - started)
        with tempfile.TemporaryDirectory(prefix=f"ctx-{image}-") as tmp:
            context = Path(tmp)
            prepare_context(image, context, packages)
            try:
                engine.client.images.build(
                    path=str(context),
                    dockerfile="Containerfile",
                    tag=tag,
                    buildargs={"BASE_IMAGE": base},
                    labels={"harness.image": image, "harness.base": base},
                    rm=True,
                    forcerm=True,
                    pull=False,
                )
            except docker.errors.BuildError as exc:
                lines = [
                    str(chunk.get("stream") or chunk.get("error") or "").rstrip()
                    for chunk in exc.build_log
                ]
                tail = "\n".join(line for line in lines if line)[-3000:]
                raise StackError(f"building {tag} failed: {exc.msg}\n{tail}") from None
            except docker.errors.APIError as exc:
                raise StackError(f"building {tag} failed: {exc}") from None
        _drop_older(engine, image, keep=tag)
    return BuiltImage(image, tag, True, time.monotonic() - started)


def _drop_older(engine: Engine, image: str, keep: str) -> None:
    """Remove earlier builds of ``image`` (a source edit makes a new tag each time); an image
    a container still uses stays (the engine refuses)."""
    for old in engine.client.images.list(filters={"label": f"harness.image={image}"}):
        for tag in old.tags:
            if tag.startswith(f"localhost/harness-{image}:") and tag != keep:
                with contextlib.suppress(Exception):
                    engine.client.images.remove(tag)


def ensure_images(
    engine: Engine, base: str | None = None, packages: tuple[str, ...] = ()
) -> dict[str, BuiltImage]:
    """Every image of the stack (built one after another: builds share the CPU anyway).

    ``packages``: the checkout's packages the app image installs (the stack definition's
    ``image_packages``).
    """
    base = base or base_image(engine)
    return {image: ensure_image(engine, image, base, packages) for image in IMAGES}


def prune_images(engine: Engine, keep: set[str]) -> list[str]:
    """Remove ``localhost/harness-*`` service images other than ``keep`` (tags); return them."""
    removed = []
    for img in engine.client.images.list(filters={"label": "harness.image"}):
        for tag in img.tags:
            if tag.startswith("localhost/harness-") and tag not in keep:
                with contextlib.suppress(Exception):
                    engine.client.images.remove(tag)
                    removed.append(tag)
    return removed
