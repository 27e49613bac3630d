"""Engine construction for SQLite (embedded) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed write survives power loss), a busy
timeout, and foreign keys on. Write transactions start with ``BEGIN IMMEDIATE`` so two concurrent
writers queue instead of failing with "database is locked" when a deferred transaction tries to
upgrade its lock; they queue at the write gate (``db.sqlite_gate``), which hands the lock to the next
writer as soon as a transaction ends. Read-only sessions opt out with ``sqlite_begin="DEFERRED"``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from assessment_hub.config import Settings
from assessment_hub.db.sqlite_gate import WriteGate, connection_factory

_gates: dict[str | None, WriteGate] = {}
_gates_lock = threading.Lock()


def write_gate(database: str | None, timeout_s: float) -> WriteGate:
    """The process's one write gate for a SQLite database file (every engine on that file shares it)."""
    path = None if not database or database == ":memory:" else str(Path(database).expanduser().resolve())
    with _gates_lock:
        gate = _gates.get(path) if path is not None else None
        if gate is None:
            gate = WriteGate(path, timeout_s)
            if path is not None:
                _gates[path] = gate
        return gate


def build_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create the engine for ``settings.database_url``; the caller disposes it."""
    url = make_url(settings.database_url)
    # errors name the statement but never its parameters (candidate data, hashes) in logs and messages
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        return create_engine(url, pool_pre_ping=True, **kwargs)

    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    # As many kept connections as threads that may use one at once (40 request threads, the writer, the
    # delivery worker's): an overflow connection is opened (PRAGMAs, lock file) and closed again per use.
    kwargs.setdefault("pool_size", 48)
    kwargs.setdefault("max_overflow", 16)
    busy_ms = settings.sqlite_busy_timeout_ms
    gate = write_gate(url.database, busy_ms / 1000)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "factory": connection_factory(gate)}, **kwargs
    )

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
        if conn.get_execution_options().get("sqlite_begin", "IMMEDIATE") == "IMMEDIATE":
            conn.connection.dbapi_connection.begin_write()
        else:
            conn.exec_driver_sql("BEGIN DEFERRED")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions begin DEFERRED (they never take the write lock)."""
    return engine.execution_options(sqlite_begin="DEFERRED")
