"""A small HTTP server on an ephemeral loopback port, in a thread, for tests that need a target.

Port 0 lets the kernel pick a free port, so tests running side by side (xdist, a colleague on
the same machine) never collide; its threads are daemons, so a hung handler cannot keep pytest
alive after the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """Serve ``handler`` until the block ends, then stop and release the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # Closing waits for no handler: one still dripping to a client that left (or holding an
    # HTTP/1.1 connection open) must not hold up the test's teardown.
    server.block_on_close = False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: ThreadingHTTPServer) -> str:
    """The server's base URL, without a trailing slash."""
    return f"http://127.0.0.1:{server.server_address[1]}"
