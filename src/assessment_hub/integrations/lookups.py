"""Short-lived caches of the API keys and integrations a server process has looked up.

Only successful lookups are kept (an unknown key is looked up again every time). Entries are
detached rows, read and never changed by the requests that share them. ``cachetools.TTLCache``
does the expiry and the size bound; a lock makes it safe across the threadpool.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import TTLCache

MAX_ENTRIES = 10_000


class TtlCache:
    """``key -> value`` entries that expire ``ttl_s`` seconds after they were put (``ttl_s`` 0: nothing is kept)."""

    def __init__(self, ttl_s: float) -> None:
        self._cache: TTLCache[str, Any] | None = TTLCache(MAX_ENTRIES, ttl_s) if ttl_s > 0 else None
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        if self._cache is None:
            return None
        with self._lock:
            return self._cache.get(key)

    def put(self, key: str, value: Any) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache[key] = value

    def forget(self, key: str) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.pop(key, None)


class Lookups:
    """The caches of one app (``app.state.lookups``): API keys by SHA-256, integrations by id."""

    def __init__(self, ttl_s: float) -> None:
        self.api_keys = TtlCache(ttl_s)
        self.integrations = TtlCache(ttl_s)
