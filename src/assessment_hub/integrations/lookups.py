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
    """``key -> value`` entries that expire ``ttl_s`` seconds after they were put (``ttl_s`` 0: nothing is kept).

    A value loaded before a ``forget`` must not be put back: take ``generation()`` before loading and pass
    it to ``put``, which keeps the value only if nothing was forgotten meanwhile.
    """

    def __init__(self, ttl_s: float) -> None:
        self._cache: TTLCache[str, Any] | None = TTLCache(MAX_ENTRIES, ttl_s) if ttl_s > 0 else None
        self._lock = threading.Lock()
        self._generation = 0

    def generation(self) -> int:
        return self._generation

    def get(self, key: str) -> Any | None:
        if self._cache is None:
            return None
        with self._lock:
            return self._cache.get(key)

    def put(self, key: str, value: Any, generation: int) -> None:
        """Keep ``value``, loaded after ``generation()`` returned ``generation``, unless a ``forget`` came since."""
        if self._cache is not None:
            with self._lock:
                if generation == self._generation:
                    self._cache[key] = value

    def forget(self, key: str) -> None:
        """Drop ``key``; values being loaded now are not kept either (call it after the change committed)."""
        with self._lock:
            self._generation += 1
            if self._cache is not None:
                self._cache.pop(key, None)


class Lookups:
    """The caches of one app (``app.state.lookups``): API keys by SHA-256, integrations by id."""

    def __init__(self, ttl_s: float) -> None:
        self.api_keys = TtlCache(ttl_s)
        self.integrations = TtlCache(ttl_s)
