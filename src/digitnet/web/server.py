"""Run the web app under uvicorn, on 127.0.0.1 unless asked otherwise.

:func:`serve` blocks until Ctrl-C; :func:`start_in_thread` runs the server in a background thread
(for tests and the load benchmark) and returns once it is accepting connections.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from digitnet.errors import DigitnetError

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def make_server(
    app: Any, host: str = LOCALHOST, port: int = 8000, **options: Any
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=options.pop("log_level", "warning"),
        access_log=options.pop("access_log", False),
        timeout_graceful_shutdown=options.pop("timeout_graceful_shutdown", 2),
        **options,
    )
    return uvicorn.Server(config)


def serve(
    app: Any,
    host: str = LOCALHOST,
    port: int = 8000,
    sockets: list[socket.socket] | None = None,
    **options: Any,
) -> None:
    """Serve ``app`` until interrupted; on ``sockets`` if given (already bound to host:port)."""
    make_server(app, host, port, **options).run(sockets=sockets)


def start_in_thread(
    app: Any, host: str = LOCALHOST, port: int | None = None, timeout: float = 20.0, **options: Any
) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start ``app`` in a daemon thread; return (server, thread, base URL) once it is up.

    Stop it with ``server.should_exit = True`` and ``thread.join()``.
    """
    port = port or free_port(host)
    server = make_server(app, host, port, **options)
    thread = threading.Thread(target=server.run, name="digitnet-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise DigitnetError(f"the web server on {host}:{port} did not start")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise DigitnetError(f"the web server on {host}:{port} did not start in {timeout} s")
        time.sleep(0.05)
    return server, thread, f"http://{host}:{port}"
