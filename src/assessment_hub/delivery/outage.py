"""A database outage as the worker's loops see it: one log line when it starts, one when it ends, and waits
that grow between tries (1, 2, 4 ... 30 s) instead of a traceback and a retry every poll.

Each loop that needs the database keeps one ``Outage`` (its own backoff): the claim loop
(``worker.DeliveryWorker``), the recorder (``recording.RecorderThread``), the ``LISTEN`` thread
(``listening.OutboxListener``), the heartbeat and each periodic chore (``heartbeat.Heartbeat``). A try that
fails for a reason ``errors.database_problem`` names (refused or dropped connections, no free connection, a
busy SQLite) counts as the database being away; anything else is a fault and is logged with its traceback by
the caller.

The loops of one worker share one ``DatabaseWatch``, which speaks for the worker as a whole: one outage of its
database is one line when the first loop finds it (naming that loop and its pace) and one line when any loop
succeeds again (with the failed tries of all its loops), however many loops fail meanwhile::

    delivery worker: the database cannot be used (connection refused); seen first by its claim loop, which
    tries again in 1 s, then less often (up to every 30 s)
    delivery worker: the database answers again (after 23 failed tries in 4 loops over 41 s; seen by its
    claim loop)

A loop that was failing when the outage ended and has not succeeded since (the ``LISTEN`` connection refused
while the pool still has its connections; an hourly chore not yet run again) stays silent until it does: it
does not open a new outage, so the lines cannot flap. A loop failing afresh after that opens a new one.
"""

from __future__ import annotations

import logging
import threading
import time

from assessment_hub.errors import first_line

FIRST_WAIT_S = 1.0
MAX_WAIT_S = 30.0


class DatabaseWatch:
    """One worker's word on its database, shared by its loops' ``Outage`` objects (thread-safe).

    ``who`` starts each line (``delivery worker``). A watch of one loop (``Outage`` without a ``watch``)
    writes that loop's lines as before: ``claiming: the database cannot be used (...); trying again in 1 s,
    ...`` and ``claiming: the database answers again (after 7 failed tries)``."""

    def __init__(self, who: str, log: logging.Logger) -> None:
        self.who = who
        self.log = log
        self._lock = threading.Lock()
        self._down = False
        self._failing: set[Outage] = set()
        """Loops whose last try failed (kept after the outage ends, until each succeeds)."""
        self._in_outage: set[Outage] = set()
        self._tries = 0
        self._since = 0.0

    @property
    def down(self) -> bool:
        """True between an outage's first line and its last."""
        return self._down

    def failed(self, loop: Outage, exc: BaseException, wait_s: float) -> None:
        """``loop``'s try failed; the first failure of an outage logs its line (``wait_s``: the loop's next wait)."""
        with self._lock:
            if loop in self._failing and not self._down:
                return  # failing since an outage that has ended: silent until it succeeds
            self._failing.add(loop)
            if self._down:
                self._tries += 1
                self._in_outage.add(loop)
                return
            self._down, self._tries, self._in_outage, self._since = True, 1, {loop}, time.monotonic()
        pace = (
            f"every {loop.every_s:g} s"
            if loop.every_s is not None
            else f"in {wait_s:g} s, then less often (up to every {MAX_WAIT_S:g} s)"
        )
        if loop.what == self.who:
            self.log.warning("%s: the database cannot be used (%s); trying again %s", self.who, first_line(exc), pace)
        else:
            self.log.warning(
                "%s: the database cannot be used (%s); seen first by its %s, which tries again %s",
                self.who,
                first_line(exc),
                loop.what,
                pace,
            )

    def recovered(self, loop: Outage) -> None:
        """``loop``'s try succeeded: the end of the outage, if there is one, is logged once."""
        with self._lock:
            self._failing.discard(loop)
            if not self._down:
                return
            self._down = False
            tries, loops, seconds = self._tries, len(self._in_outage), time.monotonic() - self._since
            self._in_outage = set()
        if loop.what == self.who and loops == 1:
            self.log.warning("%s: the database answers again (after %d failed tries)", self.who, tries)
        else:
            self.log.warning(
                "%s: the database answers again (after %d failed tries in %d %s over %.0f s; seen by its %s)",
                self.who,
                tries,
                loops,
                "loop" if loops == 1 else "loops",
                seconds,
                loop.what,
            )


class Outage:
    """Backoff for one loop that needs the database; its lines go through ``watch`` (the worker's).

    ``failed(exc)`` returns the seconds to wait before the next try (1, 2, 4 ... capped at 30) and tells the
    watch, which logs a warning only on the first failure of an outage among all its loops; ``recovered()``
    resets the wait and tells the watch, which logs once that the database answers again. A loop that keeps
    its own pace (the heartbeat, a chore: ``every_s``, its interval in seconds) ignores the waits, and the
    outage's first line names its interval instead when it is the first to fail. ``what`` names the loop
    (``claim loop``, ``heartbeat``); without a ``watch`` the loop has one of its own, named ``what``."""

    def __init__(
        self, what: str, log: logging.Logger, *, every_s: float | None = None, watch: DatabaseWatch | None = None
    ) -> None:
        self.what = what
        self.every_s = every_s
        self.watch = watch or DatabaseWatch(what, log)
        self.failures = 0
        """Failed tries since this loop's last success."""

    def failed(self, exc: BaseException) -> float:
        """Count a failed try; returns the wait before the next one, in seconds."""
        wait = min(MAX_WAIT_S, FIRST_WAIT_S * 2**self.failures)
        self.failures += 1
        self.watch.failed(self, exc, wait)
        return wait

    def recovered(self) -> None:
        """The try succeeded: reset the wait; the watch logs the end of an outage, if there was one."""
        self.failures = 0
        self.watch.recovered(self)
