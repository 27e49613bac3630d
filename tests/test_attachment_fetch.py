"""data_url downloads: private addresses refused by default, size and time capped, redirects re-checked."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response

from assessment_hub.assessment.attachments import AttachmentStore, prepare_attachments
from assessment_hub.assessment.schemas import AttachmentIn
from assessment_hub.config import Settings
from assessment_hub.errors import InputInvalid
from tests.support import serve_in_thread

files = FastAPI()


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


@pytest.fixture(scope="module")
def files_url():
    with serve_in_thread(files) as url:
        yield url


def fetch(url: str, tmp_path, **overrides):
    settings = Settings(attachments_dir=tmp_path, **{"allow_private_network": True, **overrides})
    with httpx.Client() as client:
        return prepare_attachments([AttachmentIn(name="f", data_url=url)], settings, AttachmentStore(tmp_path), client)


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
