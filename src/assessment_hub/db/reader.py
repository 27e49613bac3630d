"""Read-only jobs for request handlers, run where they cost least.

A job is ``job(session) -> T`` on a read-only session (SQLite: ``BEGIN DEFERRED``); ``await reader.run(job)``
returns its value.

SQLite: the job runs on the event loop itself. An SQLite read is in-process CPU work (WAL readers never
wait for writers), and handing it to a threadpool thread only adds GIL hand-offs: the thread holds the
GIL for whole switch intervals while the event loop waits to serve other requests (bench/NOTES.md: an
order page, ~130 pages/s on the threadpool, ~600 on the loop). PostgreSQL: on the threadpool, so that
network waits never block the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class Reader:
    """Runs read-only jobs on sessions from ``sessions`` (a read-only session factory)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.inline = sessions.kw["bind"].dialect.name == "sqlite"

    async def run(self, job: Callable[[Session], T]) -> T:
        if self.inline:
            return self._run(job)
        return await run_in_threadpool(self._run, job)

    def _run(self, job: Callable[[Session], T]) -> T:
        with self.sessions() as session:
            return job(session)
