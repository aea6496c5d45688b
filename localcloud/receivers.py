"""A receiver for the `http_request` action on this machine: an ASGI app (FastAPI) served by uvicorn on loopback.

`serve_asgi(app)` starts uvicorn in a thread on a free loopback port and yields the app's base URL
(`http://127.0.0.1:<port>`) once it listens (its lifespan's startup done); leaving the block stops it (its
lifespan's shutdown too). The test kit's `TaskCloud.receiver(app)` keeps one for the cloud's lifetime
(docs/testing.md); tests/http/test_end_to_end.py uses it beside the local cloud. uvicorn is imported when a
receiver starts (a development dependency, never in a Lambda artifact).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Where a receiver listens: the local cloud allows loopback receivers (localcloud.endpoint.LOCAL_HTTP_ACTION_HOSTS).
LOOPBACK = "127.0.0.1"
#: Seconds a receiver may take to start, and to stop.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class ReceiverDidNotStart(RuntimeError):
    """Raise when uvicorn did not start listening (it logs why; the port or the app)."""


@contextmanager
def serve_asgi(app: Any, *, host: str = LOOPBACK) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of `host` (loopback) in a thread; yields its base URL."""
    import uvicorn

    # The app's lifespan runs (its startup before the first request, its shutdown on exit), as in production;
    # port 0: the system's choice.
    config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="auto", access_log=False)
    server = uvicorn.Server(config)
    exits: list[object] = []

    def run() -> None:
        try:
            server.run()
        except SystemExit as exc:  # uvicorn exits when it cannot listen: said by the waiter, on the caller's thread
            exits.append(exc.code)

    thread = threading.Thread(target=run, name="asgi-receiver", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread, exits)
        port = server.servers[0].sockets[0].getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)


def _wait_started(server: Any, thread: threading.Thread, exits: list[object]) -> None:
    """Return once `server` listens; ReceiverDidNotStart when its thread ended first or it took too long."""
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            why = f"it exited ({exits[0]})" if exits else f"not listening after {START_TIMEOUT:g} s"
            raise ReceiverDidNotStart(f"uvicorn did not start the receiver: {why}; its log says more")
        thread.join(timeout=0.01)  # waits for the thread, at most 10 ms: not a fixed sleep


__all__ = ["LOOPBACK", "ReceiverDidNotStart", "serve_asgi"]
