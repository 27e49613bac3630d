"""What the tests add to the package simulators (``assessment_hub.simulators``): ``FakeCompat``, the fakes'
historical test API, and re-exports of the simulators' shared types and helpers. Every protocol check lives in
the simulator modules."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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

__all__ = [
    "MODES",
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


def wait_until(predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
