"""PostgreSQL for the local provider: a cached initdb template, copied per run.

``initdb`` plus creating the database takes seconds; copying a ready data directory takes a
fraction of one, which is what keeps a warm ``harness up`` under five seconds. The template is
made once per (major version, user, database) under ``~/.cache/harness`` and copied into each
run dir, then handed to the unprivileged service user (PostgreSQL refuses to run as root).

``python -m harness.stack.postgres --prepare`` builds the template ahead of time (scripts/setup).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from filelock import FileLock

from harness.stack.base import StackError
from harness.stack.paths import ServiceUser, cache_dir, chown_tree, runs_root, service_user

# PostgreSQL's own defaults; a stack definition names its own (services.<pg>.options).
DEFAULT_USER = "postgres"
DEFAULT_DATABASE = "postgres"


def database_identity(options: dict[str, str]) -> tuple[str, str]:
    """The (user, database) a postgres service's ``options`` name."""
    return options.get("user", DEFAULT_USER), options.get("database", DEFAULT_DATABASE)


def pg_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/N/bin`` (``$HARNESS_PG_BIN`` overrides)."""
    explicit = os.environ.get("HARNESS_PG_BIN")
    if explicit:
        return Path(explicit)
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise StackError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql "
            "(install the 'postgresql' package: scripts/setup does)"
        )
    return versions[-1]


def template_dir(user: str = DEFAULT_USER, database: str = DEFAULT_DATABASE) -> Path:
    major = pg_bin_dir().parent.name
    # "v2" names the template layout below; bump it when _build_template changes.
    return cache_dir() / f"pg{major}-template-v2-{user}-{database}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as(argv: list[str], user: ServiceUser, cwd: Path) -> None:
    kwargs: dict[str, object] = {}
    if not user.is_current:
        kwargs = {"user": user.uid, "group": user.gid, "extra_groups": []}
    done = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if done.returncode != 0:
        raise StackError(f"{' '.join(argv[:2])} failed: {(done.stderr or done.stdout).strip()}")


def ensure_template(
    user: str = DEFAULT_USER, database: str = DEFAULT_DATABASE, *, log: bool = False
) -> Path:
    """Return the template data dir, building it on first use (safe across processes)."""
    final = template_dir(user, database)
    if (final / "PG_VERSION").exists():
        return final
    with FileLock(str(final) + ".lock"):
        if (final / "PG_VERSION").exists():  # another process built it while we waited
            return final
        started = time.monotonic()
        if log:
            print(f"harness: building PostgreSQL template {final}", file=sys.stderr)
        _build_template(final, user, database)
        if log:
            print(f"harness: template ready ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return final


def _build_template(final: Path, user: str, database: str) -> None:
    bin_dir = pg_bin_dir()
    owner = service_user()
    # Build where the service user can reach (not under /root), then copy into the cache.
    build = Path(tempfile.mkdtemp(prefix="pg-template-", dir=runs_root()))
    try:
        build.chmod(0o711)
        data, sock = build / "data", build / "sock"
        sock.mkdir()
        chown_tree(build, owner)
        _run_as(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                # Copied on every start: 1 MB WAL segments instead of 16 keep the copy small.
                "--wal-segsize=1",
            ],
            owner,
            build,
        )
        port = _free_port()
        argv = [
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sock),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ]
        kwargs: dict[str, object] = {}
        if not owner.is_current:
            kwargs = {"user": owner.uid, "group": owner.gid, "extra_groups": []}
        with open(build / "postgres.log", "wb") as log_file:
            server = subprocess.Popen(
                argv,
                cwd=build,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,  # type: ignore[call-overload]
            )
        try:
            _create_database(port, user, database, build / "postgres.log")
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(data, partial, symlinks=True)
        for leftover in ("postmaster.pid", "postmaster.opts"):
            (partial / leftover).unlink(missing_ok=True)
        os.replace(partial, final)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _create_database(port: int, user: str, database: str, log_path: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(
                f"postgresql://{user}@127.0.0.1:{port}/postgres", autocommit=True, connect_timeout=2
            ) as connection:
                connection.execute(f'CREATE DATABASE "{database}"')
            with psycopg.connect(
                f"postgresql://{user}@127.0.0.1:{port}/{database}",
                autocommit=True,
                connect_timeout=2,
            ) as connection:
                # Nothing uses the default "postgres" database: one copy less per start.
                connection.execute("DROP DATABASE postgres")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise StackError(f"template PostgreSQL did not start: {exc}\n{tail}") from None
            time.sleep(0.1)


SPARE_PREFIX = ".pg-spare-"
PARTIAL_PREFIX = ".pg-partial-"


def _spare_glob(template: Path) -> str:
    return f"{SPARE_PREFIX}{template.name}-*"


def make_spare(user: str = DEFAULT_USER, database: str = DEFAULT_DATABASE) -> Path | None:
    """Copy the template into a ready-to-use data dir beside the run dirs (one is enough).

    Claiming a spare is a rename, so the copy (tens of MB: seconds on a busy disk) happens
    at teardown or setup time instead of on the start-up's critical path.
    """
    template = ensure_template(user, database)
    root = runs_root()
    if any(root.glob(_spare_glob(template))):
        return None
    partial = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=root))
    try:
        data = partial / "data"
        shutil.copytree(template, data, symlinks=True)
        chown_tree(data, service_user())
        data.chmod(0o700)
        final = root / f"{SPARE_PREFIX}{template.name}-{partial.name.removeprefix(PARTIAL_PREFIX)}"
        os.replace(data, final)
        return final
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _claim_spare(template: Path, data: Path) -> bool:
    for spare in sorted(runs_root().glob(_spare_glob(template))):
        try:
            os.replace(spare, data)  # atomic: of two concurrent start-ups only one gets it
        except OSError:
            continue
        return True
    return False


def prepare_data_dir(service_dir: Path, user: str, database: str) -> tuple[Path, Path]:
    """A fresh copy of the template in ``service_dir/data``; return (data, socket dir)."""
    template = ensure_template(user, database)
    data, sock = service_dir / "data", service_dir / "sock"
    if not (data / "PG_VERSION").exists() and not _claim_spare(template, data):
        shutil.copytree(template, data, symlinks=True)
    sock.mkdir(exist_ok=True)
    owner = service_user()
    chown_tree(service_dir, owner)
    data.chmod(0o700)  # postgres refuses a group- or world-readable data dir
    return data, sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.stack.postgres")
    parser.add_argument("--prepare", action="store_true", help="build the cached template")
    parser.add_argument(
        "--stack", default="bundled", help="stack definition whose postgres service to prepare"
    )
    parser.add_argument("--user", default=None, help="default: the definition's")
    parser.add_argument("--database", default=None, help="default: the definition's")
    args = parser.parse_args(argv)
    if not args.prepare:
        parser.print_help()
        return 2
    try:
        from harness.stack.definition import load_definition

        definition = load_definition(args.stack)
        options = next(
            (s.options for s in definition.services.values() if s.kind == "postgres"), {}
        )
        user, database = database_identity(options)
        args.user, args.database = args.user or user, args.database or database
        path = ensure_template(args.user, args.database, log=True)
        make_spare(args.user, args.database)
    except StackError as exc:
        print(f"harness: {exc}", file=sys.stderr)
        return 1
    print(f"PostgreSQL template: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
