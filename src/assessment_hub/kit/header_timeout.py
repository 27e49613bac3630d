"""A connection must finish its request headers within ``HEADER_TIMEOUT_S`` (default 10 s) of opening, or of
the previous response on it; otherwise the hub closes it.

uvicorn bounds the idle time between requests (``timeout_keep_alive``) but not a connection that sends
nothing, or a header line at a time, for ever (slowloris): each such connection is held open without limit.
This is uvicorn's httptools protocol with one timer more: armed when the connection opens and after each
response, disarmed when a request's headers are complete (a long request body or a slow route is not cut).

``serve`` passes ``protocol(settings.header_timeout_s)`` to uvicorn; with the worker in a process of its own
(``--workers N``, PostgreSQL) each API process imports ``HeaderTimeoutProtocol`` by name and
``app.create_api_app`` sets its ``timeout_s``.

The same protocol bounds the URL it keeps (``kit.url_limit``): past ``MAX_URL_BYTES`` it keeps no more of it,
and hands the request on with its path alone and the URL's length marked in the scope, so that the
application answers 414 with the Kombo envelope instead of uvicorn's plain-text 400 (httptools cannot
parse a URL over 65,535 bytes).
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from assessment_hub.kit.url_limit import EXTENSION, MAX_URL_BYTES

IMPORT_PATH = "assessment_hub.kit.header_timeout:HeaderTimeoutProtocol"


class HeaderTimeoutProtocol(HttpToolsProtocol):
    timeout_s: ClassVar[float] = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    _url_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = 0

    def on_url(self, url: bytes) -> None:
        """Keep at most ``MAX_URL_BYTES + 1`` bytes of the URL; count them all."""
        self._url_bytes += len(url)
        room = MAX_URL_BYTES + 1 - len(self.url)
        if room > 0:
            self.url += url[:room]

    def on_headers_complete(self) -> None:
        self._disarm()
        if self._url_bytes > MAX_URL_BYTES:  # the application answers 414 (kit.url_limit)
            path = self.url.partition(b"?")[0]
            self.url = path if len(path) <= MAX_URL_BYTES else b"/"
            self.scope.setdefault("extensions", {})[EXTENSION] = {"bytes": self._url_bytes}
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a pipelined request's headers are in already
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol(timeout_s: float) -> type[HeaderTimeoutProtocol]:
    """``HeaderTimeoutProtocol`` with its own ``timeout_s`` (for uvicorn's ``http=``)."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"timeout_s": timeout_s})
