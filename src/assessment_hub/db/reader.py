"""Read-only jobs for request handlers, run where they cost least.

A job is ``job(connection) -> T`` on a read-only connection in a transaction (SQLite: ``BEGIN DEFERRED``,
one snapshot for all of the job's statements); ``await reader.run(job)`` returns its value. A Core
``Connection``, not an ORM ``Session``: the jobs run Core statements only, and a session's own transaction
bookkeeping cost a fifth of a listing page's CPU (bench/NOTES.md).

The job runs on the event loop itself. An SQLite read is in-process CPU work (WAL readers never wait for
writers), and handing it to a threadpool thread only adds GIL hand-offs: the thread holds the GIL for
whole switch intervals while the event loop waits to serve other requests (bench/NOTES.md: an order page,
~130 pages/s on the threadpool, ~600 on the loop). PostgreSQL too (bench/NOTES.md, "Listing on
PostgreSQL"): a page is mostly CPU as well, its statements wait for the network a few hundred µs, and
the sessions come from ``db.engine.build_loop_read_engine`` (autocommit, a ``statement_timeout``), so a
slow database holds the loop at most ``READ_STATEMENT_TIMEOUT_MS`` per statement. ``inline=False`` runs
jobs on the threadpool instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class Reader:
    """Runs read-only jobs on connections of ``engine`` (SQLite: ``db.engine.read_only``'s; PostgreSQL:
    ``db.engine.build_loop_read_engine``)."""

    def __init__(self, engine: Engine, *, inline: bool = True) -> None:
        self.engine = engine
        self.inline = inline

    async def run(self, job: Callable[[Connection], T]) -> T:
        if self.inline:
            return self._run(job)
        return await run_in_threadpool(self._run, job)

    def _run(self, job: Callable[[Connection], T]) -> T:
        with self.engine.connect() as connection, connection.begin():
            return job(connection)
