"""A URL (path and query string) over ``kit.url_limit.MAX_URL_BYTES`` (32 KiB) is answered 414 with the Kombo
envelope, not uvicorn's plain-text ``400 Invalid HTTP request received.`` (httptools cannot parse a URL over
65,535 bytes): through ``serve`` (one process, and API processes beside a worker process) and through uvicorn
on loopback with the hub's protocol, with raw sockets (httpx refuses to build a URL over 64 KiB). A URL of
exactly the limit reaches the routes; the connection stays usable after a 414."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assessment_hub.app import create_app
from assessment_hub.kit.header_timeout import protocol
from assessment_hub.kit.url_limit import MAX_URL_BYTES
from tests.support import Hub, serve_in_thread, serve_process

pytestmark = pytest.mark.live

ORDERS = "/v1/assessment/orders/open?cursor="


def target(size: int, prefix: str = ORDERS) -> str:
    """A request target of exactly ``size`` bytes: ``prefix`` and as many ``a`` as it takes."""
    return prefix + "a" * (size - len(prefix))


def exchange(sock: socket.socket, path: str) -> tuple[int, dict[str, str], bytes]:
    """Send ``GET path`` on ``sock`` (kept alive) and read one response: status, headers, body."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer nope\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, body
        body += chunk
    return int(status_line.split()[1]), headers, body


def assert_414(status: int, headers: dict[str, str], body: bytes, size: int) -> None:
    assert status == 414, (status, body[:300])
    assert headers["content-type"] == "application/json", headers
    envelope: dict[str, Any] = json.loads(body)
    assert envelope["status"] == "error" and set(envelope["error"]) == {"code", "title", "message", "log_url"}
    assert envelope["error"]["code"] == "PLATFORM.INPUT_INVALID", envelope
    assert envelope["error"]["title"] == "URI too long"
    assert f"The URL is {size} bytes long" in envelope["error"]["message"], envelope
    assert headers["x-request-id"] in envelope["error"]["log_url"]


def check_limits(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        status, _, body = exchange(sock, target(MAX_URL_BYTES))  # the limit itself: the routes answer
        assert status == 401 and json.loads(body)["error"]["code"] == "PLATFORM.AUTHENTICATION_INVALID", body
        for size in (MAX_URL_BYTES + 1, 65_535, 65_536, 100_000, 2_000_000):  # the same connection throughout
            assert_414(*exchange(sock, target(size)), size)
        assert_414(*exchange(sock, target(100_000, "/v1/" + "p" * 40_000 + "?q=")), 100_000)  # a long path
        assert_414(*exchange(sock, target(40_000, "/" + "p" * 39_000)), 40_000)  # a path alone, no query
        status, _, body = exchange(sock, "/v1/check-api-key")  # the connection still serves
        assert status == 401, body


@pytest.fixture(scope="module")
def hub_url(app_hub: Hub) -> Iterator[str]:
    with serve_in_thread(create_app(app_hub.settings), http=protocol(10.0)) as url:
        yield url


def test_a_url_over_the_limit_is_414_in_the_envelope_on_the_hubs_protocol(hub_url: str) -> None:
    check_limits(hub_url)


def test_the_application_alone_refuses_a_url_over_the_limit(hub: Hub) -> None:
    """Behind a server that hands the application the whole URL (here Starlette's test client), the
    application's own guard answers: 414 from one byte over."""
    with hub.http() as client:
        at = client.get(target(MAX_URL_BYTES), headers={"Authorization": "Bearer nope"})
        over = client.get(target(MAX_URL_BYTES + 1), headers={"Authorization": "Bearer nope"})
    assert at.status_code == 401, at.text
    assert_414(over.status_code, dict(over.headers), over.content, MAX_URL_BYTES + 1)


@pytest.mark.subprocess
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_answers_a_url_over_the_limit_with_the_envelope(
    own_database_url: str, tmp_path: Path, workers: str
) -> None:
    """``serve`` in each process model (its protocol passed as a class, or imported by name in each API
    process)."""
    with serve_process(own_database_url, tmp_path, workers) as base_url:
        check_limits(base_url)
