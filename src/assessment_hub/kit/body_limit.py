"""One request-body size limit for every route, applied before any route reads the body or checks a
credential (``ASSESSMENT_HUB_MAX_BODY_BYTES``).

A pure ASGI middleware: a declared ``Content-Length`` over the limit is answered at once, without reading
a byte of the body; a body without one (chunked) is counted as it streams, and the moment the count
passes the limit the client gets the answer and the application sees the client as gone
(``http.disconnect``: nothing is stored, its own answer is dropped). The answer is 413 with the Kombo error
envelope (``PLATFORM.INPUT_INVALID``) and ``Connection: close``, so the server stops reading the rest.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assessment_hub.errors import PayloadTooLarge, error_body


class BodyLimit:
    """``app`` with request bodies capped at ``limit`` bytes (413 beyond)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the 413 went out; whatever the application answers to the "disconnect" is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"The request body is larger than the {self.limit} byte limit.")
        response = JSONResponse(
            error_body(error.code, error.title, error.message),
            status_code=error.status_code,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None when absent. (The server refuses a malformed one itself.)"""
    headers: Any = scope.get("headers") or ()
    for name, value in headers:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None
