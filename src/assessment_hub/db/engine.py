"""Engine construction for SQLite (embedded) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed write survives power loss), a busy
timeout, and foreign keys on. Write transactions start with ``BEGIN IMMEDIATE`` so two concurrent
writers queue on the busy timeout instead of failing with "database is locked" when a deferred
transaction tries to upgrade its lock; read-only sessions opt out with ``sqlite_begin="DEFERRED"``.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from assessment_hub.config import Settings


def build_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create the engine for ``settings.database_url``; the caller disposes it."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        return create_engine(url, pool_pre_ping=True, **kwargs)

    if url.database and url.database != ":memory:":
        from pathlib import Path

        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    busy_ms = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    writers = _WriterQueue(engine, busy_ms / 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode != "IMMEDIATE":
            conn.exec_driver_sql(f"BEGIN {mode}")
            return
        dbapi_connection = conn.connection.dbapi_connection
        writers.acquire(dbapi_connection)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.release(dbapi_connection)
            raise

    return engine


class _WriterQueue:
    """One write transaction at a time per engine, queued on a lock in this process.

    SQLite allows one writer; a ``BEGIN IMMEDIATE`` that finds the lock taken retries in the busy
    handler, which sleeps up to 100 ms between tries. Under load (API threads and the delivery
    worker all writing) those sleeps, not the writes, set the pace, and a writer can starve. Threads
    of this process therefore wait on a lock, taken before ``BEGIN IMMEDIATE`` and released after
    ``COMMIT``/``ROLLBACK``, and are woken as soon as it is free. Other processes (CLI, ``worker``)
    still meet the busy timeout. A thread that cannot get the lock within the busy timeout (e.g.
    it already holds a write transaction on another connection) goes on without it, as before.
    """

    def __init__(self, engine: Engine, timeout_s: float) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # id() of the DBAPI connection holding the lock
        self._timeout_s = timeout_s
        dialect = engine.dialect
        do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

        def commit(dbapi_connection: Any) -> None:
            try:
                do_commit(dbapi_connection)
            finally:
                self.release(dbapi_connection)

        def rollback(dbapi_connection: Any) -> None:
            try:
                do_rollback(dbapi_connection)
            finally:
                self.release(dbapi_connection)

        dialect.do_commit = commit  # type: ignore[method-assign]
        dialect.do_rollback = rollback  # type: ignore[method-assign]

        @event.listens_for(engine, "close")
        def _on_close(dbapi_connection: Any, _record: Any) -> None:
            self.release(dbapi_connection)

        @event.listens_for(engine, "invalidate")
        def _on_invalidate(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
            self.release(dbapi_connection)

    def acquire(self, dbapi_connection: Any) -> None:
        if self._lock.acquire(timeout=self._timeout_s if self._timeout_s > 0 else -1):
            self._holder = id(dbapi_connection)

    def release(self, connection: Any) -> None:
        # the dialect gets the pool's proxy; events get the DBAPI connection itself
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        if self._holder is not None and self._holder == id(dbapi_connection):
            self._holder = None
            self._lock.release()


def read_only(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions begin DEFERRED (they never take the write lock)."""
    return engine.execution_options(sqlite_begin="DEFERRED")
