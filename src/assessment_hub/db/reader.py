"""Read-only jobs for request handlers, run where they cost least.

A job is ``job(session) -> T`` on a read-only session (SQLite: ``BEGIN DEFERRED``); ``await reader.run(job)``
returns its value.

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

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class Reader:
    """Runs read-only jobs on sessions from ``sessions`` (a read-only session factory)."""

    def __init__(self, sessions: sessionmaker[Session], *, inline: bool = True) -> None:
        self.sessions = sessions
        self.inline = inline

    async def run(self, job: Callable[[Session], T]) -> T:
        if self.inline:
            return self._run(job)
        return await run_in_threadpool(self._run, job)

    def _run(self, job: Callable[[Session], T]) -> T:
        with self.sessions() as session:
            return job(session)
