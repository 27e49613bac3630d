"""PostgreSQL connections for statements sent through the driver (psycopg), not through SQLAlchemy.

The hot paths that run few, fixed statements (``assessment.sql_pg``, ``delivery.sql_pg``) send them with
psycopg directly: SQLAlchemy's per-execution work cost more client CPU than the statement (bench/NOTES.md).
They still take their connections from the engine's pool, so pool size, the idle ping and disconnect
handling stay in one place (``db.engine``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

NOTIFY_CHANNEL = "assessment_hub_outbox"
"""``NOTIFY`` channel of a transaction that queued outbox rows (``delivery.wakeup``, ``assessment.sql_pg``);
workers ``LISTEN`` on it (``delivery.listening``)."""


@contextmanager
def autocommit(engine: Engine) -> Iterator[Any]:
    """A pooled psycopg connection in autocommit mode (each statement its own transaction, committed when
    it returns: one round trip for a single-statement write). A connection that broke is invalidated, so
    the pool does not hand it out again."""
    import psycopg

    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        assert dbapi is not None
        dbapi.autocommit = True
        try:
            yield dbapi
        finally:
            if not dbapi.closed and not dbapi.broken:
                dbapi.autocommit = False
    except psycopg.OperationalError:
        raw.invalidate()
        raise
    finally:
        raw.close()


def conninfo(engine: Engine) -> str:
    """The engine's database as a libpq connection string (for a dedicated connection, e.g. ``LISTEN``)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
