"""A requests session for Schemathesis that goes through the harness's egress guard.

Schemathesis sends with ``requests``; the harness's guarded clients are httpx. Rather than
letting Schemathesis open its own sessions (which would skip ``scope.allow``, ``scope.exclude``
and the safety mode), every case is sent with a :class:`GuardedSession`: each prepared request,
redirect hops included, passes ``ScopeGuard.check_request`` before a connection is opened, and
waits the pacing delay the safe mode asks for. Checks that re-send a request (the content-type
probe) get the same session through the transport arguments, so they are held by the same
guard; ``ignored_auth``, which drops the session it is given, is not run (see ``model.py``).

Every answer is bounded in time and size in the adapter. ``requests`` applies its read timeout
per socket read only, so an endpoint that drips a byte a second keeps a case alive for minutes
(httpbin's ``/drip`` held one campaign for 396 s), and Schemathesis always streams the answer and
then reads it whole, unbounded. So the adapter reads the body itself, under a deadline that shuts
the socket down when the read timeout has passed since the request was sent
(:class:`AnswerTooSlow`, a ``ReadTimeout``, which the campaign records as unanswered), and stops
at ``MAX_BODY_BYTES`` (:class:`AnswerTooLarge`). Event streams never end by design: their
bodies are left to the caller.

The session carries one user's credential from the profile's auth adapter: the session cookie
and token headers on every request, the CSRF header on state-changing ones. It sends from a
loopback source address of its own (``harness.loopback``) so a per-client rate limit of the
target does not throttle the fuzzing into a stream of 429s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import requests
import urllib3
from requests.adapters import HTTPAdapter

from harness.auth import Session
from harness.loopback import usable
from harness.target import Target

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RENEW_MIN_S = 5.0
MAX_BODY_BYTES = 8 * 1024 * 1024
_CHUNK = 64 * 1024


class AnswerTooSlow(requests.exceptions.ReadTimeout):
    """The whole answer did not arrive within the read timeout."""


class AnswerTooLarge(requests.exceptions.ContentDecodingError):
    """The answer's body is larger than the campaign reads."""


def _read_timeout(timeout: Any) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    return float(timeout) if isinstance(timeout, int | float) else None


class _SourceAdapter(HTTPAdapter):
    """Connection pools bound to one source address (None: the system picks)."""

    def __init__(self, source: str | None) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._source:
            kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        **kwargs: Any,
    ) -> requests.Response:
        started = time.monotonic()
        response = super().send(request, stream=True, timeout=timeout, **kwargs)
        if response.headers.get("Content-Type", "").startswith("text/event-stream"):
            return response
        limit = _read_timeout(timeout)
        remaining = None if limit is None else max(0.0, limit - (time.monotonic() - started))
        self._read_bounded(response, request, remaining)
        return response

    @staticmethod
    def _read_bounded(
        response: requests.Response, request: requests.PreparedRequest, remaining: float | None
    ) -> None:
        """Read the body into ``response`` within ``remaining`` seconds and MAX_BODY_BYTES."""
        expired = threading.Event()

        def cut() -> None:
            # Shutting the socket down wakes the blocked read at once (closing would not).
            expired.set()
            shutdown = getattr(response.raw, "shutdown", None)
            if callable(shutdown):
                shutdown()

        timer = threading.Timer(remaining, cut) if remaining is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        body = bytearray()
        try:
            for chunk in response.raw.stream(_CHUNK, decode_content=True):
                body.extend(chunk)
                if len(body) > MAX_BODY_BYTES:
                    response.close()
                    raise AnswerTooLarge(
                        f"answer larger than {MAX_BODY_BYTES} bytes", request=request
                    )
        except (requests.RequestException, AnswerTooLarge):
            raise
        except Exception as exc:
            if expired.is_set():
                response.close()
                raise AnswerTooSlow(
                    "whole answer not received within the read timeout", request=request
                ) from exc
            if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
                raise requests.exceptions.ReadTimeout(exc, request=request) from exc
            raise requests.exceptions.ConnectionError(exc, request=request) from exc
        finally:
            if timer is not None:
                timer.cancel()
        if expired.is_set():
            response.close()
            raise AnswerTooSlow(
                "whole answer not received within the read timeout", request=request
            )
        response._content = bytes(body)  # what ``response.content`` returns from now on
        response._content_consumed = True
        response.raw.release_conn()


class GuardedSession(requests.Session):
    """A requests session whose every request passes the target's guard first.

    With ``relogin``, a credential the target stops accepting (a session that idled out or hit
    its absolute timeout during a long campaign) is renewed: a 401 to a request that carried
    it logs the user in again (at most once per ``RENEW_MIN_S``) and sends the request once
    more with the new credential, so the rest of the campaign is not judged anonymous.
    """

    def __init__(
        self,
        target: Target,
        *,
        source_address: str | None = None,
        credential: Session | None = None,
        relogin: Callable[[], Session | None] | None = None,
    ) -> None:
        super().__init__()
        self.guard = target.guard
        self.verify = target.verify
        # Proxy variables of the harness's environment must not route the fuzzing elsewhere.
        self.trust_env = False
        adapter = _SourceAdapter(usable(source_address, target.base_url))
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.user = credential.user_name if credential is not None else None
        self.write_headers: dict[str, str] = {}
        self.sent = 0
        self.relogins = 0
        self.renewed: list[Session] = []  # credentials this session made; closed with it
        self._relogin = relogin
        self._renewed_at = 0.0
        # Schemathesis swaps ``self.headers`` out while it sends; this is the object it restores.
        self._base_headers = self.headers
        self._credential_headers: dict[str, str] = {}
        self._cookies: dict[str, str] = {}
        if credential is not None:
            self._adopt(credential)

    def _adopt(self, credential: Session) -> None:
        self._credential_headers = dict(credential.headers)
        self._base_headers.update(self._credential_headers)
        self.write_headers = credential.headers_for_write()
        for cookie in credential.client.cookies.jar:
            self.cookies.set_cookie(cookie)
            if cookie.value is not None:
                self._cookies[cookie.name] = cookie.value

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        method = (request.method or "GET").upper()
        delay = self.guard.check_request(method, httpx.URL(str(request.url)))
        if delay:
            time.sleep(delay)
        if method in UNSAFE_METHODS:
            for name, value in self.write_headers.items():
                request.headers.setdefault(name, value)
        self.sent += 1
        response = super().send(request, **kwargs)
        if response.status_code == 401 and self._carries_credential(request) and self._renew():
            self.sent += 1
            return super().send(self._refreshed(request), **kwargs)
        return response

    def _carries_credential(self, request: requests.PreparedRequest) -> bool:
        cookie = request.headers.get("Cookie", "")
        if isinstance(cookie, bytes):
            cookie = cookie.decode("latin-1")
        names = {part.split("=", 1)[0].strip() for part in cookie.split(";") if "=" in part}
        headers = {k.lower() for k in request.headers}
        return bool(names & set(self._cookies)) or any(
            name.lower() in headers for name in self._credential_headers
        )

    def _renew(self) -> bool:
        """Log in again unless that was just done; True when a credential is there to retry."""
        if self._relogin is None:
            return False
        if time.monotonic() - self._renewed_at < RENEW_MIN_S:
            return True  # just renewed: the request carried the old credential, retry
        self._renewed_at = time.monotonic()
        fresh = self._relogin()
        if fresh is None:
            return False
        self.renewed.append(fresh)
        self.relogins += 1
        self._adopt(fresh)
        return True

    def _refreshed(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        again = request.copy()
        for name, value in self._credential_headers.items():
            if name in again.headers:
                again.headers[name] = value
        cookie = again.headers.get("Cookie")
        if isinstance(cookie, bytes):
            cookie = cookie.decode("latin-1")
        if cookie:
            pairs = [part.strip().split("=", 1) for part in cookie.split(";") if "=" in part]
            again.headers["Cookie"] = "; ".join(
                f"{name}={self._cookies.get(name, value)}" for name, value in pairs
            )
        if (again.method or "").upper() in UNSAFE_METHODS:
            again.headers.update(self.write_headers)
        return again

    def close(self) -> None:
        for credential in self.renewed:
            credential.close()
        super().close()
