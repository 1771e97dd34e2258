"""SEC-15: rotating the encryption key keeps stored provider tokens usable.

Needs a rotation command from the profile (``operations.rotate_keys``, an argv run in the app
service through ``stack.exec``); without it the control does not apply. Disruptive: the key
ring changes under every other test.
"""

from __future__ import annotations

import threading

import pytest

from harness.auth import login as do_login
from harness.loopback import source
from harness.probes.bounded import as_response, fetch
from harness.verdicts import NotApplicable

pytestmark = pytest.mark.stack

SOURCE = source(91)


def rotate_command(profile) -> list[str] | None:
    operations = getattr(profile, "operations", None)
    command = getattr(operations, "rotate_keys", None)
    if command is None and isinstance(operations, dict):
        command = operations.get("rotate_keys")
    return list(command) if command else None


def _provider_operation(target):
    """A POST the app can only serve by decrypting the stored provider token (refresh)."""
    for path, item in (target.openapi.get("paths") or {}).items():
        if "refresh" in path and "post" in item:
            return "POST", path
    return None


@pytest.mark.disruptive
@pytest.mark.control("SEC-15")
def test_key_rotation_keeps_tokens_readable(target, stack, evidence):
    profile = target.profile
    command = rotate_command(profile)
    if command is None:
        raise NotApplicable("the profile names no key rotation command (operations.rotate_keys)")
    if profile.auth.flow != "oauth-pkce":
        raise NotApplicable("no provider tokens are stored (auth.flow is not oauth-pkce)")
    operation = _provider_operation(target)
    if operation is None:
        raise NotApplicable(
            "the OpenAPI document has no operation that uses the stored "
            "provider token (a POST with 'refresh' in its path)"
        )
    method, path = operation
    session = do_login(target, local_address=SOURCE)
    try:
        before = fetch(
            session.client, method, path, total_s=10, headers=session.headers_for_write()
        )
        evidence.http(as_response(before), title="provider operation before rotation")
        assert 200 <= before.status < 300, (
            f"{method} {path} fails before any rotation (HTTP {before.status}): the check "
            "cannot tell what rotation breaks"
        )
        # Keep the session from idling out while the rotation runs.
        done = threading.Event()

        def keep_alive() -> None:
            while not done.wait(1.5):
                if profile.auth.me_path:
                    fetch(session.client, "GET", profile.auth.me_path, total_s=3)

        pinger = threading.Thread(target=keep_alive, daemon=True)
        pinger.start()
        try:
            result = stack.exec(profile.target.app_service, command)
        finally:
            done.set()
            pinger.join(timeout=5)
        evidence.text(
            "rotation command",
            f"$ {' '.join(command)}\nexit {result.returncode}\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
        )
        assert result.returncode == 0, (
            f"rotation command {command} failed with exit {result.returncode}: "
            f"{result.stderr[-300:]}"
        )
        after = fetch(session.client, method, path, total_s=10, headers=session.headers_for_write())
        evidence.http(
            as_response(after),
            title="provider operation after rotation (old "
            "token, re-encrypted or under the old key)",
        )
    finally:
        session.close()
    # New writes: a new login stores tokens under the new primary key, and they work too.
    fresh = do_login(target, local_address=SOURCE)
    try:
        new = fetch(fresh.client, method, path, total_s=10, headers=fresh.headers_for_write())
        evidence.http(as_response(new), title="provider operation for a login after rotation")
    finally:
        fresh.close()
    assert 200 <= after.status < 300, (
        f"after key rotation {method} {path} with the tokens stored before it answers HTTP "
        f"{after.status}: stored tokens are no longer readable ({after.body[:200]!r})"
    )
    assert 200 <= new.status < 300, (
        f"after key rotation a fresh login's {method} {path} answers HTTP {new.status}"
    )
