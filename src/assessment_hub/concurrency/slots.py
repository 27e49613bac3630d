"""In-flight write slots per integration, counted across processes (and, on PostgreSQL, machines).

An integration has ``limit`` slots; a write action holds one from before it starts until its answer is
ready. A slot is a lock the operating system or the database drops by itself when its holder dies, so a
crashed process never leaks capacity:

- ``FileSlots`` (SQLite, one machine): slot ``s`` of an integration is byte ``base + s`` of one lock file
  beside the database, held as an open-file-description lock (Linux ``F_OFD_SETLK``: per open file, so
  threads of one process and other processes alike contend for it; released on close or exit).
- ``PostgresSlots`` (any number of machines on one database): slot ``s`` is the session advisory lock
  ``(key, s)``, ``key`` derived from the integration id, all held on one dedicated connection per process
  (locks of one session are re-entrant, so the process also keeps the set it holds and skips it).

``acquire`` answers ``(slot, remaining)``: the slot held (None: all ``limit`` are taken) and how many more
could start now (``limit`` minus those in flight, this one included).

On PostgreSQL a write that does nothing slow before its transaction (a result without attachments to
fetch) takes its slot inside that transaction instead (``SlotInWrite``, ``PG_TAKE_IN_TRANSACTION``: the
transaction advisory lock ``(key, s)``, in the write's first round trip, given back by its commit): the
same locks, so the two kinds count against one limit, without the two round trips of ``acquire`` and
``release`` on the event loop. Measured (bench/NOTES.md, "The concurrency cap on PostgreSQL"): those cost
the PostgreSQL write path about a third of its rate.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

MAX_LIMIT = 1024
"""Largest ``CONCURRENCY_LIMIT``: the slot range reserved per integration in the lock file."""


def integration_key(integration_id: str) -> int:
    """A stable 31-bit number for an integration id (advisory lock key; lock-file region)."""
    return int.from_bytes(hashlib.sha256(integration_id.encode()).digest()[:4], "big") & 0x7FFF_FFFF


@dataclass(frozen=True)
class Slot:
    """A held slot; ``handle`` is the backend's (an fd, or a connection generation)."""

    integration_key: int
    number: int
    handle: Any


@dataclass
class SlotInWrite:
    """The integration's slot, to be taken by the write itself in its own transaction (PostgreSQL);
    ``remaining`` is set by the write once it has tried (``Concurrency-Remaining``)."""

    integration_key: int
    limit: int
    remaining: int | None = None


def limit_message(limit: int) -> str:
    """The 429's message."""
    return (
        f"This integration already has {limit} write requests in flight, the most allowed at once; "
        "send this one again after the others have been answered (wait at least the Retry-After "
        "seconds, backing off exponentially)."
    )


class Slots(Protocol):
    limit: int
    takes_in_transaction: bool
    """Whether a write may take its slot in its own transaction (``SlotInWrite``)."""

    async def acquire(self, integration_id: str) -> tuple[Slot | None, int]: ...

    async def release(self, slot: Slot) -> None: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------- file locks

_FLOCK = "hhqqi4x"  # struct flock on Linux (x86-64, arm64): l_type, l_whence, l_start, l_len, l_pid, padding


def _flock(kind: int, start: int, length: int) -> bytes:
    return struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0)


class FileSlots:
    """Slots as OFD byte locks in ``path``; integration ``k`` owns bytes ``k * MAX_LIMIT`` onwards (a sparse
    file: locks need no data). Each acquire opens its own file description. The slots this process holds are
    also kept in memory (``acquire`` and ``release`` run on the one event loop): ``acquire`` tries no lock it
    knows this process holds and counts those without a syscall, so its syscalls grow with the slots other
    processes hold, not with its own. Measured with 60 slots held by the process: 110 -> 10 us of CPU per
    acquire + release (bench/NOTES.md)."""

    takes_in_transaction = False

    def __init__(self, path: str, limit: int) -> None:
        self.path = path
        self.limit = limit
        self._held: dict[int, set[int]] = {}
        """Per integration key, the slot numbers this process holds now."""

    async def acquire(self, integration_id: str) -> tuple[Slot | None, int]:
        key = integration_key(integration_id)
        base = key * MAX_LIMIT
        held = self._held.setdefault(key, set())
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            for number in range(self.limit):
                if number in held:  # this process's own: taken
                    continue
                try:
                    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _flock(fcntl.F_WRLCK, base + number, 1))
                except OSError as exc:
                    if exc.errno in (errno.EAGAIN, errno.EACCES):
                        continue
                    raise
                busy = number + 1 + self._busy_after(fd, held, base, number + 1, self.limit)
                held.add(number)
                return Slot(key, number, fd), max(self.limit - busy, 0)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        return None, 0

    @staticmethod
    def _busy_after(fd: int, held: set[int], base: int, number: int, end: int) -> int:
        """How many of slots ``[number, end)`` are held: this process's (``held``) counted from memory, the
        others' asked of the kernel in each stretch between them (``_others_in``)."""
        busy = 0
        stretch = number
        for n in range(number, end):
            if n in held:
                busy += 1 + (FileSlots._others_in(fd, base, stretch, n) if stretch < n else 0)
                stretch = n + 1
        return busy + (FileSlots._others_in(fd, base, stretch, end) if stretch < end else 0)

    @staticmethod
    def _others_in(fd: int, base: int, start: int, end: int) -> int:
        """How many of slots ``[start, end)`` other file descriptions hold. ``F_OFD_GETLK`` names one
        conflicting lock of a range, not necessarily the lowest (fcntl(2): "details about one of those
        locks"; Linux answers in the order the locks were placed), so each range is split around the lock
        it names and both halves asked again: 2 x found + 1 syscalls at most."""
        busy = 0
        ranges = [(start, end)]
        while ranges:
            low, high = ranges.pop()
            answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, _flock(fcntl.F_WRLCK, base + low, high - low))
            kind, _whence, found, _length, _pid = struct.unpack(_FLOCK, answer)
            if kind == fcntl.F_UNLCK:
                continue
            busy += 1
            found -= base
            ranges.extend(r for r in ((low, found), (found + 1, high)) if r[0] < r[1])
        return busy

    async def release(self, slot: Slot) -> None:
        self._held[slot.integration_key].discard(slot.number)  # acquire made the set
        os.close(slot.handle)  # closing the description drops its lock

    async def close(self) -> None:
        pass


def lock_file_for(database: str) -> str:
    """The lock file of a SQLite database file: ``<database>-concurrency.lock``."""
    return f"{os.path.abspath(os.path.expanduser(database))}-concurrency.lock"


# ----------------------------------------------------------------------------------- PostgreSQL advisory

_IN_FLIGHT = """(SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = %(key)s::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"""
_TAKE = f"""
WITH taken AS (
    SELECT s FROM generate_series(0, %(limit)s - 1) AS s
    WHERE CASE WHEN s = ANY(%(held)s::int[]) THEN false ELSE pg_try_advisory_lock(%(key)s, s) END
    LIMIT 1
)
SELECT (SELECT s FROM taken), {_IN_FLIGHT}
"""
PG_TAKE_IN_TRANSACTION = f"""
WITH taken AS (
    SELECT s FROM generate_series(0, %(limit)s - 1) AS s WHERE pg_try_advisory_xact_lock(%(key)s, s) LIMIT 1
)
SELECT (SELECT s FROM taken), {_IN_FLIGHT}
"""
"""``SlotInWrite``'s statement (parameters ``key``, ``limit``): ``(slot taken or NULL, slots in flight)``; a
pooled connection holds no session slot, so no ``held`` set is needed."""
# The Limit node pulls rows from the filter one at a time, so pg_try_advisory_lock runs until the first
# slot it takes and on no later one (no sort or aggregate sits between them). CASE fixes the order of the
# two tests: with a plain AND the planner may run the (cheaper) lock function first, and on a slot this
# session already holds it would succeed again (advisory locks are re-entrant) and leak a count. The scalar
# subqueries run in order, so the count includes the slot just taken.


class PostgresSlots:
    """Slots as session advisory locks on one autocommit connection (``conninfo``) per process; one round
    trip to take a slot, one to give it back, one at a time (the set of slots this session holds is read and
    changed with the statement, under ``_lock``). A lost connection drops its locks with it: the process
    forgets what it held (``generation``) and reconnects on the next acquire."""

    takes_in_transaction = True

    def __init__(self, conninfo: str, limit: int) -> None:
        self.conninfo = conninfo
        self.limit = limit
        self._conn: Any = None
        self._generation = 0
        self._held: dict[int, set[int]] = {}
        self._lock = asyncio.Lock()

    async def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            self._generation += 1
            self._held = {}
        return self._conn

    async def acquire(self, integration_id: str) -> tuple[Slot | None, int]:
        import psycopg

        key = integration_key(integration_id)
        async with self._lock:
            for attempt in (1, 2):
                conn = await self._connection()
                held = self._held.setdefault(key, set())
                try:
                    cursor = await conn.execute(_TAKE, {"limit": self.limit, "held": sorted(held), "key": key})
                    number, in_flight = await cursor.fetchone()
                except psycopg.OperationalError:
                    await self._drop()
                    if attempt == 2:
                        raise
                    continue
                if number is None:
                    return None, 0
                held.add(number)
                return Slot(key, number, self._generation), max(self.limit - int(in_flight), 0)
        raise AssertionError("unreachable")

    async def release(self, slot: Slot) -> None:
        import psycopg

        async with self._lock:
            if slot.handle != self._generation or self._conn is None:
                return  # that connection is gone, and its locks with it
            self._held[slot.integration_key].discard(slot.number)  # acquire made the set
            try:
                await self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (slot.integration_key, slot.number))
            except psycopg.OperationalError:
                await self._drop()

    async def _drop(self) -> None:
        conn, self._conn, self._held = self._conn, None, {}
        if conn is not None:
            try:
                await conn.close()
            except Exception:
                pass

    async def close(self) -> None:
        """Give back every slot at once (the server would drop them too once this session ends)."""
        async with self._lock:
            if self._conn is not None and not self._conn.closed:
                try:
                    await self._conn.execute("SELECT pg_advisory_unlock_all()")
                except Exception:
                    pass
            await self._drop()


def build_slots(database_url: str | URL, limit: int) -> Slots:
    """The slots for a database: file locks beside a SQLite file, advisory locks on PostgreSQL (its one
    connection opened with the URL's query, ``application_name`` included: ``db.engine.database_url``)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return FileSlots(lock_file_for(url.database or "assessment-hub.db"), limit)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresSlots(conninfo, limit)
