"""Waking workers in other processes and on other machines: PostgreSQL ``LISTEN``/``NOTIFY``.

A transaction that queues outbox rows sends ``NOTIFY assessment_hub_outbox`` (``db.driver.NOTIFY_CHANNEL``;
PostgreSQL delivers it at commit, and not at all on rollback): the result write in its pipeline
(``assessment.sql_pg``), every other write through ``delivery.wakeup``. Each worker on PostgreSQL runs an
``OutboxListener``: one thread with its own autocommit connection, ``LISTEN``-ing, that sets the worker's
wake event for every notification. The worker still polls (``worker_poll_s``) as a fallback: for rows
queued by a process that does not notify, retries falling due, and a lost listening connection (it
reconnects after ``RECONNECT_S``, or, while it cannot connect, after ``outage.Outage``'s growing waits,
waking the worker once it listens again).
"""

from __future__ import annotations

import logging
import threading

from assessment_hub.db.driver import NOTIFY_CHANNEL
from assessment_hub.delivery.outage import DatabaseWatch, Outage

log = logging.getLogger("assessment_hub.worker")

RECONNECT_S = 1.0
"""Wait before listening again after a connection that listened was lost."""
CHECK_STOP_S = 0.5
"""How often the listening thread looks at the stop event while no notification arrives."""


class OutboxListener:
    """``LISTEN`` on ``conninfo`` in a daemon thread, setting ``wake`` on each notification until ``stop``."""

    def __init__(
        self, conninfo: str, wake: threading.Event, stop: threading.Event, *, watch: DatabaseWatch | None = None
    ) -> None:
        self.conninfo = conninfo
        self.wake = wake
        self.stop = stop
        self.listening = threading.Event()
        """Set while the connection listens (tests wait for it)."""
        self.outage = Outage("LISTEN connection", log, watch=watch)  # the worker polls meanwhile
        self._thread = threading.Thread(target=self._loop, name="delivery-listener", daemon=True)

    def start(self) -> OutboxListener:
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        import psycopg

        while not self.stop.is_set():
            wait = RECONNECT_S
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.outage.recovered()
                    self.listening.set()
                    self.wake.set()  # rows queued while nobody listened
                    while not self.stop.is_set():
                        for _notify in conn.notifies(timeout=CHECK_STOP_S):
                            self.wake.set()
                            if self.stop.is_set():
                                break
            except psycopg.Error as exc:  # polling goes on meanwhile; one line per outage (delivery.outage)
                wait = self.outage.failed(exc)
            finally:
                self.listening.clear()
            self.stop.wait(wait)
