"""Where stacks keep their files, and which user runs the services that refuse root.

Run directories live under the system temp dir (not ``~/.cache``): PostgreSQL runs as an
unprivileged user when the harness runs as root, and that user must be able to traverse to
its data and socket directories, which ``/root`` (mode 0700) would forbid.
"""

from __future__ import annotations

import os
import pwd
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

STATE_NAME = "state.json"
SERVICE_USER_CANDIDATES = ("harness", "nobody")


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/harness`` (default ``~/.cache/harness``): templates and caches."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "harness"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_root() -> Path:
    """The folder holding every run directory of this user (``$HARNESS_RUN_ROOT`` overrides)."""
    explicit = os.environ.get("HARNESS_RUN_ROOT")
    path = Path(explicit) if explicit else Path(tempfile.gettempdir()) / f"harness-{os.getuid()}"
    path.mkdir(parents=True, exist_ok=True)
    # 0711: the unprivileged service user may pass through but not list other runs.
    path.chmod(0o711)
    return path


def new_run_dir(profile: str) -> Path:
    """A fresh run directory, named so a person can tell runs apart in ``ls``."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in profile)[:40]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = runs_root() / f"{safe}-{stamp}-{secrets.token_hex(3)}"
    path.mkdir(mode=0o711)
    path.chmod(0o711)  # mkdir's mode is masked by the umask
    return path


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int

    @property
    def is_current(self) -> bool:
        return self.uid == os.geteuid()


def service_user() -> ServiceUser:
    """The user that runs services which must not run as root (PostgreSQL).

    As root: ``harness`` when ``scripts/setup`` created it, else ``nobody``. Otherwise the
    current user, since only root can switch users.
    """
    if os.geteuid() == 0:
        for name in SERVICE_USER_CANDIDATES:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    entry = pwd.getpwuid(os.geteuid())
    return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def chown_tree(path: Path, user: ServiceUser) -> None:
    """Give ``path`` and everything under it to ``user`` (no-op when it is us)."""
    if user.is_current:
        return
    os.chown(path, user.uid, user.gid)
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), user.uid, user.gid, follow_symlinks=False)
