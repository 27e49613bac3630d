"""The unit of work at the edge: one session per request or job, committed on success.

Services and repositories only ``flush()``; the dependency (``scope="function"``) commits after the route returns and
before the response is sent (so an accepted write is durable before the client hears 200), and
rolls back on any error, taking every row of that request (outbox rows included) with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _write_session(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.sessions) as session:
        yield session


def _read_session(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.read_sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(_write_session, scope="function")]
"""A read-write session (SQLite: BEGIN IMMEDIATE)."""
ReadSessionDep = Annotated[Session, Depends(_read_session, scope="function")]
"""A session for requests that only read (SQLite: BEGIN DEFERRED)."""
