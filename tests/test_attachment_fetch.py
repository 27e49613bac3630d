"""data_url downloads: private addresses refused by default, size and time capped, redirects re-checked, and
every connection made to the address that was checked (no DNS rebinding), with a resolver the test controls."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response

from assessment_hub.assessment.attachments import AttachmentStore, data_url_client, prepare_attachments
from assessment_hub.assessment.schemas import AttachmentIn
from assessment_hub.config import Settings
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.address_guard import Resolver, is_public
from tests.support import serve_in_thread

files = FastAPI()
served: list[str] = []
"""The Host header of every request the file server answered."""


@files.middleware("http")
async def record(request, call_next):
    served.append(request.headers.get("host", ""))
    return await call_next(request)


@files.get("/ok.txt")
def ok() -> Response:
    return Response(b"hello", media_type="text/plain; charset=utf-8")


@files.get("/big")
def big() -> Response:
    return Response(b"x" * 5000, media_type="application/pdf")


@files.get("/slow")
def slow() -> Response:
    time.sleep(2)
    return Response(b"late", media_type="text/plain")


@files.get("/missing")
def missing() -> Response:
    return Response(b"no", status_code=404)


@files.get("/hop")
def hop() -> RedirectResponse:
    return RedirectResponse("/ok.txt")


@files.get("/loop")
def loop() -> RedirectResponse:
    return RedirectResponse("/loop")


@files.get("/to-rebinding")
def to_rebinding() -> RedirectResponse:
    return RedirectResponse(f"http://rebinding.test:{files_port()}/ok.txt")


def files_port() -> int:
    return int(FILES_URL[0].rsplit(":", 1)[1])


FILES_URL: list[str] = []


@pytest.fixture(scope="module")
def files_url() -> Iterator[str]:
    with serve_in_thread(files) as url:
        FILES_URL[:] = [url]
        yield url


def fetch(url: str, tmp_path, resolver: Resolver | None = None, **overrides):
    settings = Settings(attachments_dir=tmp_path, **{"allow_private_network": True, **overrides})

    async def run():
        async with data_url_client(settings, resolver) as client:
            return await prepare_attachments(
                [AttachmentIn(name="f", data_url=url)], settings, AttachmentStore(tmp_path), client
            )

    return asyncio.run(run())


class RebindingResolver:
    """A DNS server the test controls: ``*.test`` answers ``answers`` in turn (the last one from then on)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if not host.endswith(".test"):
            raise OSError(f"{host} does not resolve")
        return [self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]]


def test_download_takes_content_type_from_response(files_url, tmp_path) -> None:
    (stored,), warnings = fetch(f"{files_url}/hop", tmp_path)
    assert (stored.content_type, stored.size_bytes, warnings) == ("text/plain", 5, [])
    assert AttachmentStore(tmp_path).read(stored.sha256) == b"hello"


@pytest.mark.parametrize(
    "path,overrides,message",
    [
        ("/ok.txt", {"allow_private_network": False}, "non-public address"),
        ("/big", {"max_attachment_bytes": 1000}, "limit"),
        ("/slow", {"data_url_timeout_s": 0.5}, "longer than"),
        ("/missing", {}, "HTTP 404"),
        ("/loop", {}, "redirected more than"),
    ],
)
def test_download_failures_name_the_attachment(files_url, tmp_path, path, overrides, message) -> None:
    with pytest.raises(InputInvalid) as raised:
        fetch(f"{files_url}{path}", tmp_path, **overrides)
    assert "attachments[0]" in raised.value.message and message in raised.value.message
    assert not any(tmp_path.rglob("*")) or all(p.is_dir() for p in tmp_path.rglob("*"))


def test_non_http_scheme_refused(tmp_path) -> None:
    with pytest.raises(InputInvalid, match="http"):
        fetch("file:///etc/passwd", tmp_path)


PUBLIC = "93.184.215.14"  # globally routable; nothing answers it from this machine within the test's deadline


def test_a_name_answering_public_then_loopback_is_never_fetched_from_loopback(files_url, tmp_path) -> None:
    """DNS rebinding: the check saw a public address; the connection must go there, not to the 127.0.0.1 a
    second lookup would give. Nothing reaches the loopback file server."""
    resolver = RebindingResolver(PUBLIC, "127.0.0.1")
    served.clear()
    with pytest.raises(InputInvalid) as raised:
        fetch(
            f"http://rebinding.test:{files_port()}/ok.txt",
            tmp_path,
            resolver,
            allow_private_network=False,
            data_url_timeout_s=1.0,
        )
    assert "attachments[0]" in raised.value.message
    assert served == [] and resolver.asked == ["rebinding.test"]  # resolved once, for the one connection


def test_every_redirect_hop_is_resolved_once_checked_and_pinned(files_url, tmp_path) -> None:
    """Each hop's name goes through the checking resolver once and its connection to the address it gave:
    with the second name answering an address nothing listens on, the download fails rather than reaching
    the file server by another lookup; answering loopback (allowed here), it arrives."""
    resolver = RebindingResolver("127.0.0.1")
    served.clear()
    (stored,), _warnings = fetch(f"http://files.test:{files_port()}/to-rebinding", tmp_path, resolver)
    assert stored.size_bytes == 5
    assert resolver.asked == ["files.test", "rebinding.test"]
    assert served == [f"files.test:{files_port()}", f"rebinding.test:{files_port()}"]

    class Elsewhere(RebindingResolver):
        async def __call__(self, host: str, port: int) -> list[str]:
            self.asked.append(host)
            return ["127.0.0.1" if host == "files.test" else "127.0.0.2"]  # the file server is not on .2

    served.clear()
    with pytest.raises(InputInvalid, match="attachments\\[0\\]"):
        fetch(f"http://files.test:{files_port()}/to-rebinding", tmp_path, Elsewhere())
    assert served == [f"files.test:{files_port()}"]


def test_a_name_resolving_to_loopback_is_refused(files_url, tmp_path) -> None:
    with pytest.raises(InputInvalid, match="non-public address"):
        fetch(
            f"http://rebinding.test:{files_port()}/ok.txt",
            tmp_path,
            RebindingResolver("127.0.0.1"),
            allow_private_network=False,
        )


def test_the_connection_goes_to_the_resolved_address_with_the_name_kept(files_url, tmp_path) -> None:
    """The test's resolver is the only one that knows ``files.test``: the download works, so the connection
    went to the address it gave, and the server saw the name in Host."""
    resolver = RebindingResolver("127.0.0.1")
    served.clear()
    (stored,), _warnings = fetch(f"http://files.test:{files_port()}/ok.txt", tmp_path, resolver)
    assert stored.size_bytes == 5 and served == [f"files.test:{files_port()}"]


def test_a_name_with_any_non_public_address_is_refused(files_url, tmp_path) -> None:
    class Both:
        async def __call__(self, host: str, port: int) -> list[str]:
            return [PUBLIC, "127.0.0.1"]

    with pytest.raises(InputInvalid, match=r"non-public address \(127.0.0.1\)"):
        fetch(f"http://both.test:{files_port()}/ok.txt", tmp_path, Both(), allow_private_network=False)


@pytest.mark.parametrize(
    "address,public",
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("8.8.8.8", True),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("2001:4860:4860::8888", True),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:8.8.8.8", True),
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::169.254.169.254", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::808:808", True),
        ("64:ff9b:1::7f00:1", False),  # local-use NAT64
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:a00:1::1", False),  # 6to4 of 10.0.0.1
        ("2002:808:808::", True),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo, client 127.0.0.1
        ("ff02::1", False),
        ("224.0.0.1", False),
    ],
)
def test_ipv6_forms_that_carry_an_ipv4_are_judged_by_it(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_an_embedded_loopback_literal_is_refused(files_url, tmp_path) -> None:
    with pytest.raises(InputInvalid, match="non-public address"):
        fetch(f"http://[64:ff9b::7f00:1]:{files_port()}/ok.txt", tmp_path, allow_private_network=False)
