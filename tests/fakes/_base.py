"""Shared plumbing for the fake ATS servers: recording, outage modes, helpers.

Nothing in here is ATS-specific protocol; each ATS module decides what is
accepted and what the rejection looks like.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assessment_hub.simulators.base import (
    MODES,
    ProtocolViolation,
    RecordedRequest,
    Reply,
    Simulator,
    basic_auth_value,
    is_http_url,
    is_number,
    media_type,
    parse_basic,
    violation,
)

from .server import LiveServer

__all__ = [
    "MODES",
    "FakeAtsServer",
    "FakeCompat",
    "ProtocolViolation",
    "RecordedRequest",
    "Reply",
    "basic_auth_value",
    "is_http_url",
    "is_number",
    "media_type",
    "parse_basic",
    "violation",
    "wait_until",
]


class FakeCompat:
    """The fakes' historical test API on top of a package simulator (``assessment_hub.simulators``):
    ``server_url``, ``start_server()``/``stop_server()``, ``mode=`` at construction, ``clear()``,
    ``wait_for_received()``/``wait_for_requests()``. Mix it in before the simulator class."""

    def __init__(self, *args: Any, mode: str = "ok", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mode = mode

    @property
    def server_url(self) -> str:
        assert isinstance(self, Simulator)
        return self.url

    def start_server(self) -> Any:
        assert isinstance(self, Simulator)
        return self.start()

    def stop_server(self) -> None:
        assert isinstance(self, Simulator)
        self.stop()

    def clear(self) -> None:
        assert isinstance(self, Simulator)
        self.requests.clear()
        self.received.clear()
        self.rejected.clear()

    def wait_for_received(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        assert isinstance(self, Simulator)
        wait_until(lambda: len(self.received) >= count, timeout, f"{count} accepted request(s)")
        return list(self.received)

    def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        assert isinstance(self, Simulator)
        wait_until(lambda: len(self.requests) >= count, timeout, f"{count} request(s)")
        return list(self.requests)


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
