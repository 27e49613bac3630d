"""One body-size limit for every route, before the body is read or a credential checked (kit/body_limit.py).

A 1 GiB unauthenticated POST (generated as it is sent, never held in memory) to each inbound ATS route,
the vendor API and the admin API answers 413 with the error envelope when it declares its ``Content-Length``;
streamed chunked (no length known up front), it answers 413 once the limit has been read, or the route's
401 if the route refuses the caller before reading a byte. Either way the process (the hub runs in it) grows
by less than 50 MB.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import pytest

from assessment_hub.connectors.inbound import integration_base_url
from tests.support import Hub

GIB = 1 << 30
CHUNK = b"x" * (1 << 20)


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def send_gibibyte(method: str, url: str, *, chunked: bool) -> tuple[int, dict[str, str], bytes, int]:
    """``method`` with 1 GiB of body to ``url`` over a raw socket, reading the answer while sending; stops sending
    when the answer is in or the server hangs up. Returns (status, headers, body, bytes sent)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=20)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {GIB}"
    sock.sendall(
        f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode()
    )
    answer = bytearray()
    done = threading.Event()

    def read() -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer.extend(data)
                head, sep, body = bytes(answer).partition(b"\r\n\r\n")
                if sep:
                    length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                    if length and len(body) >= int(length[0].split(b":")[1]):
                        break
        except OSError:
            pass
        finally:
            done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    try:
        while sent < GIB and not done.is_set():
            sock.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK)
            sent += len(CHUNK)
    except OSError:  # the server answered and hung up: the rest of the body is never read
        pass
    assert done.wait(20), "no answer"
    sock.close()
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body, sent


pytestmark = pytest.mark.live  # raw sockets to a hub served by uvicorn


@pytest.fixture(scope="module")
def targets(live_hub: Hub) -> dict[str, tuple[str, str]]:
    hub = live_hub
    ashby = hub.new_tenant("ashby", {"api_key": "k"})
    teamtailor = hub.new_tenant("teamtailor", {"api_key": "k"})
    greenhouse = hub.new_tenant("greenhouse")
    return {
        "ashby": ("POST", integration_base_url(hub.base_url, ashby.integration_id) + "/assessment.start"),
        "teamtailor": ("POST", integration_base_url(hub.base_url, teamtailor.integration_id) + "/webhook"),
        "greenhouse": ("POST", integration_base_url(hub.base_url, greenhouse.integration_id) + "/send_test"),
        "vendor": ("PUT", hub.api_url + "/assessment/orders/nope/result"),
        "admin": ("POST", hub.base_url + "/admin/integrations"),
    }


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("route", ["ashby", "teamtailor", "greenhouse", "vendor", "admin"])
def test_gibibyte_body_is_refused_before_it_is_read(
    hub: Hub, targets: dict[str, tuple[str, str]], route: str, chunked: bool
) -> None:
    before = rss_bytes()
    status, headers, body, sent = send_gibibyte(*targets[route], chunked=chunked)
    grown = rss_bytes() - before
    if chunked and status == 401:  # refused before the body was read (Teamtailor checks its key first)
        assert grown < 50 * 1024 * 1024
        return
    assert status == 413, body
    error = json.loads(body)
    assert error["status"] == "error" and error["error"]["code"] == "PLATFORM.INPUT_INVALID"
    assert str(hub.settings.max_body_bytes) in error["error"]["message"]
    assert headers.get("connection") == "close"
    assert sent < GIB  # the server stopped taking the body
    assert grown < 50 * 1024 * 1024, f"the process grew by {grown / 1e6:.0f} MB"


def test_body_within_the_limit_still_reaches_the_route(hub: Hub) -> None:
    tenant = hub.new_tenant()
    with tenant.client() as client:
        response = client.put(
            "/assessment/packages",
            json={"packages": [{"id": "1", "name": "n", "description": "d" * 100_000, "type": "SKILLS_TEST"}]},
        )
    assert response.status_code == 200, response.text
