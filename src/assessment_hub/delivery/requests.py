"""Outbound requests as an operator may see them: secrets masked, body as sent.

``describe_request`` is what a write-back attempt records (``DeliveryAttemptRow.request_text``) and what
the console's write-back preview shows. Masked: the value of ``Authorization`` (its scheme is kept, e.g.
``Basic ****``), ``Proxy-Authorization``, ``Cookie``, ``X-Api-Key`` and any header whose name contains
``token``, ``secret``, ``signature`` or ``api-key``. The body is never masked: it carries the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

MASK = "****"
MAX_REQUEST_TEXT = 20_000
"""Characters of a described request kept with an attempt (the body is cut beyond)."""
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}
_SECRET_PARTS = ("token", "secret", "signature", "api-key", "apikey")


def mask_header(name: str, value: str) -> str:
    lower = name.lower()
    if lower in ("authorization", "proxy-authorization"):
        scheme, _, credentials = value.partition(" ")
        return f"{scheme} {MASK}" if credentials else MASK
    if lower in _SECRET_HEADERS or any(part in lower for part in _SECRET_PARTS):
        return MASK
    return value


@dataclass(frozen=True)
class RequestView:
    """A request as shown: ``headers`` in the order sent, secrets masked; ``body`` the exact bytes."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def body_text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def as_text(self) -> str:
        """``METHOD URL``, one ``Name: value`` line per header, a blank line, the body."""
        lines = [f"{self.method} {self.url}", *(f"{k}: {v}" for k, v in self.headers), "", self.body_text]
        return "\n".join(lines)


def request_view(request: httpx.Request) -> RequestView:
    body = request.content if hasattr(request, "_content") else request.read()
    return RequestView(
        method=request.method,
        url=str(request.url),
        headers=[
            (k.decode("latin-1"), mask_header(k.decode("latin-1"), v.decode("latin-1"))) for k, v in request.headers.raw
        ],
        body=body,
    )


def describe_request(request: httpx.Request) -> str:
    """``request_view(request).as_text()``, at most ``MAX_REQUEST_TEXT`` characters."""
    return request_view(request).as_text()[:MAX_REQUEST_TEXT]
