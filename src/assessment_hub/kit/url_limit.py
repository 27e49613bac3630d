"""The longest URL the hub takes: a request target (path and query string) of ``MAX_URL_BYTES`` (32 KiB) at
most; a longer one is answered 414 with the Kombo error envelope (``PLATFORM.INPUT_INVALID``), before any
route or credential check.

Why here: ``serve``'s HTTP parser is httptools, which cannot split a URL over 65,535 bytes
(``httptools.parse_url`` keeps offsets in 16 bits and raises), and uvicorn then answers on its own, a
plain-text ``400 Invalid HTTP request received.``, before the application sees the request. So the hub's
protocol (``kit.header_timeout.HeaderTimeoutProtocol``, every process ``serve`` starts) keeps at most
``MAX_URL_BYTES + 1`` bytes of a URL (a giant one costs no memory) and hands a longer request to the
application with its path alone (``/`` when the path itself is too long) and the URL's length in
``scope["extensions"][EXTENSION]``; the application's URL guard (``app._guard_urls``) answers 414 for that
mark, and for a scope whose own path and query are over the limit (a server that passed the URL whole).
32 KiB is far above any request of this API (1,000 order ids in ``ids`` take 25 KB) and below what the
parser can take, so the limit is the hub's, the same under every server.
"""

from __future__ import annotations

from typing import Any

MAX_URL_BYTES = 32 * 1024
"""The longest request target (path, ``?`` and query string), in bytes as sent."""

EXTENSION = "assessment_hub.url_too_long"
"""``scope["extensions"]`` key the protocol sets on a request whose URL it cut: ``{"bytes": N}``."""


def url_bytes(scope: dict[str, Any]) -> int:
    """The length of the request's URL as sent, in bytes: the protocol's mark, else the scope's raw path
    and query string."""
    marked = (scope.get("extensions") or {}).get(EXTENSION)
    if marked is not None:
        return int(marked["bytes"])
    path: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    query: bytes = scope.get("query_string") or b""
    return len(path) + (1 + len(query) if query else 0)


def too_long_message(size: int) -> str:
    return (
        f"The URL is {size} bytes long (path and query string); the hub takes at most {MAX_URL_BYTES}. "
        "Ask for fewer ids at once, and send cursor as data.next gave it."
    )
