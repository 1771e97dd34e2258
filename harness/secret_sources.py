"""Secrets known only at the end of a run (tokens a mock provider issued), fetched on demand.

The stack fixture registers a source; at session end, before the stack is torn down, the
plugin calls every source and redacts what they return from all evidence of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

SecretSource = Callable[[], Iterable[str]]

_sources: list[SecretSource] = []


def register_secret_source(source: SecretSource) -> None:
    """Call ``source()`` at session end and redact every value it returns from all evidence.

    For secrets that exist only after tests ran, such as the tokens a mock provider issued:
    the stack fixture registers ``mock_token_source(url)`` for the profile's OAuth provider
    service (``auth.oauth.provider_service``). Called before
    session-scoped fixtures are torn down, so the service is still up.
    """
    _sources.append(source)


def secret_sources() -> list[SecretSource]:
    return list(_sources)


def clear_secret_sources() -> None:
    _sources.clear()


def mock_token_source(base_url: str, path: str = "/_mock/tokens") -> SecretSource:
    """A secret source for a mock provider that lists the tokens it issued."""

    def fetch() -> list[str]:
        from harness.scope import ScopeGuard, scoped_client

        # The stack's own mock on loopback: the same guard as every other client.
        with scoped_client(ScopeGuard(["127.0.0.0/8", "::1", "localhost"]), timeout=10) as client:
            response = client.get(base_url.rstrip("/") + path)
        response.raise_for_status()
        values: list[str] = []
        for token in response.json():
            values += [token.get("access_token") or "", token.get("refresh_token") or ""]
        return [v for v in values if v]

    return fetch
