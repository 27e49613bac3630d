"""A database outage as the worker's loops see it: one log line when it starts, one when it ends, and waits
that grow between tries (1, 2, 4 ... 30 s) instead of a traceback and a retry every poll.

The claim loop (``worker.DeliveryWorker``) and the ``LISTEN`` thread (``listening.OutboxListener``) each keep
one ``Outage``; a try that fails for a reason ``errors.database_problem`` names (refused or dropped
connections, no free connection, a busy SQLite) counts as the database being away; anything else is a
fault and is logged with its traceback by the caller.
"""

from __future__ import annotations

import logging

from assessment_hub.errors import first_line

FIRST_WAIT_S = 1.0
MAX_WAIT_S = 30.0


class Outage:
    """Backoff and state-change logging for one loop that needs the database.

    ``failed(exc)`` returns the seconds to wait before the next try (1, 2, 4 ... capped at 30) and logs a
    warning only on the first failure of an outage; ``recovered()`` logs once that the database answers
    again and resets the wait. A loop that keeps its own pace (the heartbeat, a chore: ``every_s``, its interval
    in seconds) ignores the waits, and its first line names its interval instead."""

    def __init__(self, what: str, log: logging.Logger, *, every_s: float | None = None) -> None:
        self.what = what
        self.log = log
        self.every_s = every_s
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        """Count a failed try; returns the wait before the next one, in seconds."""
        wait = min(MAX_WAIT_S, FIRST_WAIT_S * 2**self.failures)
        if self.failures == 0 and self.every_s is not None:
            self.log.warning(
                "%s: the database cannot be used (%s); trying again every %.0f s",
                self.what,
                first_line(exc),
                self.every_s,
            )
        elif self.failures == 0:
            self.log.warning(
                "%s: the database cannot be used (%s); trying again in %.0f s, then less often (up to every %.0f s)",
                self.what,
                first_line(exc),
                wait,
                MAX_WAIT_S,
            )
        self.failures += 1
        return wait

    def recovered(self) -> None:
        """The try succeeded: log the end of an outage, if there was one, and reset the wait."""
        if self.failures:
            self.log.warning("%s: the database answers again (after %d failed tries)", self.what, self.failures)
            self.failures = 0
