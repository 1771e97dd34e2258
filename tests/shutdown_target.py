"""A tiny ASGI server for the OPS-06 drill's tests: POST /items reads its JSON body, then
answers 201; POST /eager answers 401 without reading the body. ``--abrupt`` exits at once on
SIGTERM (the regression), else uvicorn drains in-flight requests.

Run: python tests/shutdown_target.py PORT [--abrupt]
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import uvicorn


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if "--abrupt" in sys.argv:
                    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/eager":
        status, body = 401, b'{"error": "login"}'
    else:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        status, body = (201, b'{"id": 1}') if scope["path"] == "/items" else (200, b"{}")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
