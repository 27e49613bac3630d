"""Connections that never finish their request headers are closed after ``HEADER_TIMEOUT_S``
(kit/header_timeout.py), in the in-process server and in ``serve`` (``--workers 1`` and ``2``, on SQLite
and PostgreSQL). Tested with raw sockets: silence, and headers trickling in a line at a time (each line
resets uvicorn's own keep-alive timer). A slow route after complete headers is not cut."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assessment_hub.app import create_app
from assessment_hub.kit.header_timeout import protocol
from tests.support import Hub, serve_in_thread, serve_process


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection (EOF or reset) before the socket's own timeout."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def connect(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def hub_url(app_hub: Hub) -> Iterator[str]:
    app = create_app(app_hub.settings)  # the hub's app on the hub's database, served with the header timeout

    async def slow() -> dict:
        await asyncio.sleep(1.0)
        return {"slow": True}

    app.add_api_route("/test/slow", slow)
    with serve_in_thread(app, http=protocol(0.3)) as url:
        yield url


def test_a_silent_connection_is_closed(hub_url: str) -> None:
    with connect(hub_url) as sock:
        assert closed_by_server(sock)


def test_headers_trickling_in_are_cut_off(hub_url: str) -> None:
    with connect(hub_url) as sock:
        sock.sendall(b"GET /v1/check-api-key HTTP/1.1\r\nHost: hub\r\n")
        try:
            for n in range(200):  # a header line every 0.1 s, never the blank line that ends them
                sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
                time.sleep(0.1)
        except OSError:  # the server closed it while we were sending
            return
        pytest.fail("the server kept a connection whose headers never ended")


def test_a_slow_route_is_not_cut_and_the_connection_is_reused(hub_url: str) -> None:
    with httpx.Client(base_url=hub_url, timeout=30) as client:
        assert client.get("/test/slow").json() == {"slow": True}  # longer than the header timeout
        assert client.get("/test/slow").json() == {"slow": True}


@pytest.mark.subprocess
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_closes_connections_that_never_finish_their_headers(
    own_database_url: str, tmp_path: Path, workers: str
) -> None:
    """Each process model of ``serve``: one process (SQLite), one API process beside a worker process
    (PostgreSQL), N API processes."""
    with serve_process(own_database_url, tmp_path, workers, ASSESSMENT_HUB_HEADER_TIMEOUT_S="0.5") as base_url:
        for _ in range(int(workers) * 2):  # several connections: each API process gets some
            with connect(base_url) as sock:
                sock.sendall(b"GET /v1/check-api-key HTTP/1.1\r\n")
                assert closed_by_server(sock)
