"""One writer at a time on a SQLite database, handed over without sleeping.

SQLite allows one write transaction at a time. When a second ``BEGIN IMMEDIATE`` finds the lock
taken, SQLite's busy handler sleeps (1, 2, 5, 10 ... 100 ms, longer than a whole transaction here)
and tries again, so under load the lock sits idle most of the time and writes queue for seconds
(bench/NOTES.md: ~100 result writes/s with 64 clients, p99 over 4 s).

The gate puts a wait queue in front of ``BEGIN IMMEDIATE``: a ``threading.Lock`` among the threads of
one process, and an exclusive ``flock(2)`` on ``<database>-writer.lock`` among processes (``serve
--workers N``, the delivery worker process, CLI commands). A writer holds the gate from its BEGIN
until its COMMIT or ROLLBACK returns; the next waiter starts at once. SQLite's own lock and busy
timeout stay underneath (a program that does not use the gate still waits correctly).

A wait longer than the busy timeout raises ``sqlite3.OperationalError("database is locked")``, as
SQLite itself would: a writer that never finishes cannot stop the others forever.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

try:  # POSIX; elsewhere the process lock alone serializes this process's writers
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class WriteGate:
    """The gate of one database file (``path`` None: an in-memory database, threads only)."""

    def __init__(self, path: str | None, timeout_s: float) -> None:
        self.path = None if path is None else f"{path}-writer.lock"
        self.timeout_s = timeout_s
        self._threads = threading.Lock()

    def acquire(self, lock_fd: int | None) -> None:
        """Wait for the gate (threads of this process, then other processes); raises
        ``sqlite3.OperationalError`` after ``timeout_s``."""
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise sqlite3.OperationalError("database is locked (waited for the write gate past the busy timeout)")
        if lock_fd is None or fcntl is None:
            return
        pause = 0.0002
        while True:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._threads.release()
                    raise sqlite3.OperationalError(
                        "database is locked (another process held the write gate past the busy timeout)"
                    ) from None
                time.sleep(pause)  # only this process's one waiting writer polls
                pause = min(pause * 2, 0.002)

    def release(self, lock_fd: int | None) -> None:
        if lock_fd is not None and fcntl is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
        self._threads.release()

    def open_lock_fd(self) -> int | None:
        if self.path is None or fcntl is None:
            return None
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)


class GatedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection (``connect(factory=...)``) that gives the gate back when its write
    transaction ends: after ``commit()``/``rollback()`` return, and on ``close()``."""

    gate: WriteGate  # set on the subclass made by ``connection_factory``

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock_fd = self.gate.open_lock_fd()
        self._holding = False

    def begin_write(self) -> None:
        """Take the gate, then ``BEGIN IMMEDIATE`` (gives the gate back if BEGIN fails)."""
        if not self._holding:
            self.gate.acquire(self._lock_fd)
            self._holding = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._give_back()
            raise

    def _give_back(self) -> None:
        if self._holding:
            self._holding = False
            self.gate.release(self._lock_fd)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def connection_factory(gate: WriteGate) -> type[GatedConnection]:
    """A ``sqlite3.connect(factory=...)`` class bound to ``gate``."""
    return type("GatedConnection", (GatedConnection,), {"gate": gate})
