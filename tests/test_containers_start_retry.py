"""Which container start failures the containers provider retries: the engine's own (a 5xx),
not a request it refused (a bad mount, a taken port, a missing image), which fails at once."""

from __future__ import annotations

import docker.errors
import pytest
import requests

from harness.stack.containers.ops import engine_fault


def _api_error(status: int, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError("start failed", response=response, explanation=explanation)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (_api_error(500, "write child: broken pipe"), True),
        (_api_error(503, "runtime busy"), True),
        (_api_error(400, "invalid mount config"), False),
        (_api_error(404, "no such image"), False),
        (_api_error(409, "port is already allocated"), False),
        (docker.errors.ImageNotFound("no such image"), False),
        (OSError("connection refused"), False),
        (ValueError("bad argument"), False),
    ],
)
def test_only_engine_side_failures_are_retried(error: BaseException, retried: bool) -> None:
    assert engine_fault(error) is retried
