"""Engine construction for SQLite (embedded) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed write survives power loss), a busy
timeout, and foreign keys on. Write transactions start with ``BEGIN IMMEDIATE`` so two concurrent
writers queue on the busy timeout instead of failing with "database is locked" when a deferred
transaction tries to upgrade its lock; read-only sessions opt out with ``sqlite_begin="DEFERRED"``.
"""

from __future__ import annotations

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

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions begin DEFERRED (they never take the write lock)."""
    return engine.execution_options(sqlite_begin="DEFERRED")
