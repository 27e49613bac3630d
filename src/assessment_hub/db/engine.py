"""Engine construction for SQLite (embedded) and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed write survives power loss), a busy
timeout, and foreign keys on. Write transactions start with ``BEGIN IMMEDIATE`` so two concurrent
writers queue instead of failing with "database is locked" when a deferred transaction tries to
upgrade its lock; they queue at the write gate (``db.sqlite_gate``), which hands the lock to the next
writer as soon as a transaction ends. Read-only sessions opt out with ``sqlite_begin="DEFERRED"``.

PostgreSQL: the main pool holds up to ``DB_POOL_SIZE`` + ``DB_MAX_OVERFLOW`` connections (a thread that finds
none free waits up to ``DB_POOL_TIMEOUT_S``, then gets SQLAlchemy's ``TimeoutError``: ``errors.database_problem``
answers it 503), and every connection names its process in ``pg_stat_activity.application_name``
(``application_name(role)``: ``assessment-hub-api:<pid>``, ``assessment-hub-worker:<pid>``...).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

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


API = "api"
"""Role of an API process (``serve --no-worker``, each process of ``serve --workers N``, ``serve`` on PostgreSQL)."""
API_WITH_WORKER = "api+worker"
"""Role of the one process of ``serve`` that runs the delivery worker inside (SQLite, ``--worker-in-process``)."""
WORKER = "worker"
"""Role of an ``assessment-hub worker`` process (the one ``serve`` starts beside its API processes too)."""
CLI = "cli"
"""Role of every other command (``migrate``, ``api-keys``..., and the migrations ``serve`` runs before serving)."""


def application_name(role: str) -> str:
    """``assessment-hub-<role>:<pid>`` (e.g. ``assessment-hub-worker:4242``): what ``pg_stat_activity`` shows as
    ``application_name`` for every PostgreSQL connection of this process (at most 63 bytes: PostgreSQL's limit)."""
    return f"assessment-hub-{role}:{os.getpid()}"[:63]


def database_url(settings: Settings, role: str) -> URL:
    """``settings.database_url`` as a URL; on PostgreSQL with ``application_name=application_name(role)`` in its
    query (kept there, so the dedicated connections built from it, ``db.driver.conninfo``, carry it too),
    unless the operator's URL names one already."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" or "application_name" in url.query:
        return url
    return url.update_query_dict({"application_name": application_name(role)})


def build_engine(settings: Settings, *, role: str = CLI, **kwargs: Any) -> Engine:
    """Create the engine for ``settings.database_url``; the caller disposes it. ``role``: which process this is
    (``API``, ``API_WITH_WORKER``, ``WORKER``, ``CLI``), named in PostgreSQL's ``application_name``.

    PostgreSQL: a pool of ``DB_POOL_SIZE`` kept connections and up to ``DB_MAX_OVERFLOW`` more opened under load
    (closed again when returned beyond the kept ones), a checkout waiting at most ``DB_POOL_TIMEOUT_S``."""
    url = database_url(settings, role)
    # errors name the statement but never its parameters (candidate data, hashes) in logs and messages
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", settings.db_pool_size)
        kwargs.setdefault("max_overflow", settings.db_max_overflow)
        kwargs.setdefault("pool_timeout", settings.db_pool_timeout_s)
        kwargs.setdefault("pool_use_lifo", True)  # the connection used last: under load none sits idle to be pinged
        engine = create_engine(url, **kwargs)
        ping_idle_connections(engine)
        return engine

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


PING_AFTER_IDLE_S = 2.0
"""A pooled PostgreSQL connection idle in the pool longer than this is pinged before use."""


def ping_idle_connections(engine: Engine, idle_s: float | None = None) -> None:
    """Pessimistic disconnect handling for connections that sat idle (SQLAlchemy's "custom pessimistic
    ping" recipe), instead of ``pool_pre_ping``, which pings on every checkout: one round trip (two
    outside autocommit: ``BEGIN`` and ``SELECT 1``) more on every request, a third of the result write's
    (``assessment.sql_pg``). A connection back in the pool within ``idle_s`` is used as it is; one that
    died meanwhile (the server restarted) fails its statement, which SQLAlchemy recognises as a disconnect
    and answers by replacing every pooled connection (that request fails). ``idle_s``: default
    ``PING_AFTER_IDLE_S``, read at each checkout."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= (PING_AFTER_IDLE_S if idle_s is None else idle_s):
            return
        autocommit = dbapi_connection.autocommit
        try:
            dbapi_connection.autocommit = True
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.autocommit = autocommit
        except Exception as exc:  # the pool replaces the connection and checks the new one out
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc


LOOP_POOL_SIZE = 1
LOOP_MAX_OVERFLOW = 1
"""The event loop's read pool: the loop runs one read at a time (``db.reader``: a job runs to its end without
awaiting), so one connection is used; the overflow one is a margin, never a wait on the loop."""


def build_loop_read_engine(settings: Settings, *, role: str = API) -> Engine:
    """PostgreSQL: the engine of the reads run on the event loop (``db.reader``): autocommit (no ``BEGIN``/
    ``ROLLBACK`` round trips; each statement has its own snapshot, as in a READ COMMITTED transaction), a
    ``statement_timeout`` of ``READ_STATEMENT_TIMEOUT_MS`` (a slow database cannot hold the loop longer),
    and a pool of ``LOOP_POOL_SIZE`` + ``LOOP_MAX_OVERFLOW`` connections."""
    engine = create_engine(
        database_url(settings, role),
        pool_size=LOOP_POOL_SIZE,
        max_overflow=LOOP_MAX_OVERFLOW,
        pool_timeout=settings.db_pool_timeout_s,
        pool_use_lifo=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": f"-c statement_timeout={int(settings.read_statement_timeout_ms)}"},
    )
    ping_idle_connections(engine)
    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions begin DEFERRED (they never take the write lock)."""
    return engine.execution_options(sqlite_begin="DEFERRED")
