"""Shared plumbing for the fake ATS servers: recording, outage modes, helpers.

Nothing in here is ATS-specific protocol; each ATS module decides what is
accepted and what the rejection looks like.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .server import LiveServer

MODES = ("ok", "503", "timeout", "401")


class ProtocolViolation(AssertionError):
    """The hub answered the ATS in a way the ATS's protocol does not allow."""


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any
    status: int = 0
    reason: str | None = None  # why it was rejected (None when accepted)
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Reply:
    """What a handler wants to answer. ``reason`` set => the request is recorded as rejected."""

    status: int
    body: bytes | str | Any = b""
    headers: dict[str, str] | None = None
    media_type: str | None = None
    reason: str | None = None

    def to_response(self) -> Response:
        body = self.body
        media_type = self.media_type
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            media_type = media_type or "application/json"
        return Response(content=body, status_code=self.status, headers=self.headers, media_type=media_type)


class FakeAtsServer:
    """Base for the server side of a fake ATS.

    Subclasses implement ``handle(rec) -> Reply`` plus ``outage_reply``,
    ``bad_credentials_reply`` and ``timeout_reply``. Every request lands in
    ``requests`` (in order) and in exactly one of ``received`` (accepted) or
    ``rejected`` (anything answered with ``Reply.reason`` set, including
    outage-mode answers, whose reason starts with ``"mode:"``).
    """

    def __init__(self, *, mode: str = "ok", hold_seconds: float = 10.0) -> None:
        self.mode = mode
        self.hold_seconds = hold_seconds
        self.requests: list[RecordedRequest] = []
        self.received: list[RecordedRequest] = []
        self.rejected: list[RecordedRequest] = []
        self._live: LiveServer | None = None
        self._closing = threading.Event()
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}", self._endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                )
            ]
        )

    # -- lifecycle ---------------------------------------------------------
    @property
    def server_url(self) -> str:
        if self._live is None or self._live.base_url is None:
            raise RuntimeError("fake server is not running; call start_server() or use it as a context manager")
        return self._live.base_url

    def start_server(self) -> FakeAtsServer:
        self._closing.clear()
        self._live = LiveServer(self.app)
        self._live.start()
        return self

    def stop_server(self) -> None:
        self._closing.set()  # releases requests held by mode="timeout"
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self):
        return self.start_server()

    def __exit__(self, *exc: object) -> None:
        self.stop_server()

    def set_mode(self, mode: str, *, hold_seconds: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        if hold_seconds is not None:
            self.hold_seconds = hold_seconds

    def clear(self) -> None:
        self.requests.clear()
        self.received.clear()
        self.rejected.clear()

    # -- hooks ---------------------------------------------------------------
    def handle(self, rec: RecordedRequest) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def outage_reply(self) -> Reply:
        return Reply(503, "Service Unavailable", media_type="text/plain")

    def bad_credentials_reply(self) -> Reply:
        return Reply(401, "Unauthorized", media_type="text/plain")

    def timeout_reply(self) -> Reply:
        return Reply(504, "Gateway Timeout", media_type="text/plain")

    # -- plumbing ------------------------------------------------------------
    async def _endpoint(self, request: Request) -> Response:
        import asyncio

        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            json=parsed,
        )
        self.requests.append(rec)
        mode = self.mode
        if mode == "503":
            reply = self.outage_reply()
            reply.reason = "mode:503"
        elif mode == "401":
            reply = self.bad_credentials_reply()
            reply.reason = "mode:401"
        elif mode == "timeout":
            deadline = time.monotonic() + self.hold_seconds
            while time.monotonic() < deadline and not self._closing.is_set():
                await asyncio.sleep(0.05)
            reply = self.timeout_reply()
            reply.reason = "mode:timeout"
        else:
            try:
                reply = self.handle(rec)
            except Exception as exc:  # a bug in the fake must be loud, not a silent 500
                reply = Reply(500, f"fake crashed: {exc!r}", media_type="text/plain", reason=f"fake error: {exc!r}")
        rec.status = reply.status
        rec.reason = reply.reason
        (self.rejected if reply.reason else self.received).append(rec)
        return reply.to_response()

    # -- waiting -------------------------------------------------------------
    def wait_for_received(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        wait_until(lambda: len(self.received) >= count, timeout, f"{count} accepted request(s)")
        return list(self.received)

    def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        wait_until(lambda: len(self.requests) >= count, timeout, f"{count} request(s)")
        return list(self.requests)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


# -- small helpers used by several fakes -------------------------------------


def basic_auth_value(username: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """Return (username, password) from an ``Authorization: Basic`` header, else None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if ":" not in raw:
        return None
    user, _, pw = raw.partition(":")
    return user, pw


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def violation(condition: bool, message: str) -> None:
    if not condition:
        raise ProtocolViolation(message)
