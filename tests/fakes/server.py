"""Run an ASGI app with uvicorn in a background thread on 127.0.0.1.

Usage::

    with LiveServer(app) as base_url:
        httpx.get(base_url + "/ping")

or ``srv = LiveServer(app); srv.start(); ...; srv.stop()``.

The socket is bound before the thread starts (port 0 -> a free port chosen by
the OS), so there is no race between "find a free port" and "bind it".
Start and stop waits are bounded.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["LiveServer"]


class LiveServer:
    def __init__(
        self,
        app: Any,
        *,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        graceful_shutdown: float = 1.0,
    ) -> None:
        self.app = app
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.graceful_shutdown = graceful_shutdown
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.base_url: str | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("LiveServer already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=self.graceful_shutdown,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"LiveServer:{port}", daemon=True)
        self._server, self._thread, self._sock = server, thread, sock
        thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("uvicorn thread died during start-up")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"server did not start within {self.start_timeout}s")
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(self.stop_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(self.stop_timeout)
        self._cleanup()
        if thread.is_alive():
            raise RuntimeError("uvicorn thread did not stop")

    def _cleanup(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._server = self._thread = self._sock = None

    # -- context manager ---------------------------------------------------
    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
