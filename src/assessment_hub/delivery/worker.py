"""The delivery worker: claims due outbox rows, sends them, records every attempt.

Four rooms, one job each (and, on PostgreSQL, ``delivery.listening``: ``LISTEN`` for rows queued by
other processes), composed here (docs/delivery.md, "The worker's rooms"):
- ``delivery.claiming`` (``Claimer``): which rows this worker takes, leases, giving rows back;
- ``delivery.preparing`` (``Preparer``): what a claim's rows need, loaded set-based, as typed targets;
- ``delivery.sending`` (``Sender``): one job to its vendor endpoint or ATS connector, as a ``Finished``;
- ``delivery.recording`` (``AttemptRecorder``, ``RecorderThread``): attempts written in batches, rows
  moved on.

The loop here only moves jobs between them: claim while there is room, hand the jobs to a pool of
``worker_concurrency`` senders, and give their finished attempts to the recorder thread. The job carries
only the row id and what was loaded for it at claim time; a retry is prepared afresh, so it sends what is
current (and a webhook sends the same bytes, with the same event id, every time).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.driver import conninfo
from assessment_hub.db.engine import read_only
from assessment_hub.delivery.claiming import Claimer
from assessment_hub.delivery.heartbeat import Chore, Heartbeat
from assessment_hub.delivery.jobs import ClaimedRow, Finished, Job
from assessment_hub.delivery.listening import CHECK_STOP_S, OutboxListener
from assessment_hub.delivery.outage import DatabaseWatch, Outage
from assessment_hub.delivery.preparing import Preparer
from assessment_hub.delivery.recording import AttemptRecorder, RecorderThread
from assessment_hub.delivery.senders import Outcome
from assessment_hub.delivery.sending import Sender
from assessment_hub.errors import database_problem
from assessment_hub.kit.timestamps import utcnow

__all__ = ["BATCH_GAP_S", "STOPPED_LINE", "DeliveryWorker", "Finished", "Job", "default_worker_id", "started_line"]

log = logging.getLogger("assessment_hub.worker")

BATCH_GAP_S = 0.01
"""After a claim that found rows, and after recording a batch, the claimer and the recorder wait this
long before their next transaction, so that rows and attempts arriving meanwhile share one (on SQLite
every write transaction is serialized and fsync'd). It adds at most this much to a delivery's latency."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


STOPPED_LINE = "delivery worker stopped"
"""What a delivery worker prints on stdout once it has stopped (``worker``, and ``serve``'s worker in its process)."""


def started_line(worker: DeliveryWorker, metrics_url: str | None = None) -> str:
    """What a delivery worker prints on stdout as it starts: ``delivery worker host:pid:thread started
    (concurrency 8)`` (``worker``, and ``serve``'s worker in its process); with ``metrics_url`` (``worker
    --metrics-port``) ``(concurrency 8; metrics at http://127.0.0.1:9400/metrics)``."""
    metrics = f"; metrics at {metrics_url}" if metrics_url else ""
    return f"delivery worker {worker.worker_id} started (concurrency {worker.settings.worker_concurrency}{metrics})"


class DeliveryWorker:
    """One worker: a claimer loop feeding a pool of ``worker_concurrency`` senders, whose outcomes one
    recorder thread writes in batches (``record_batch``: one transaction for all attempts finished since
    its previous one)."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        worker_id: str | None = None,
        wake: threading.Event | None = None,
        public_base_url: str | None = None,
        chores: Sequence[Chore] = (),
    ) -> None:
        self.settings = settings
        self.chores = chores
        """Periodic work beside the deliveries (retention), run from the heartbeat's thread."""
        self.sessions = sessions
        # reads that write nothing begin DEFERRED on SQLite: they do not queue for the write lock
        self.read_sessions = sessionmaker(read_only(sessions.kw["bind"]), expire_on_commit=False)
        self.worker_id = worker_id or default_worker_id()
        self.wake = wake or threading.Event()
        self.public_base_url = public_base_url or settings.public_base_url or "http://127.0.0.1:8000"
        self.http = httpx.Client(timeout=settings.delivery_timeout_s)
        postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self.claimer = Claimer(sessions, self.read_sessions, self.worker_id, settings.worker_lease_s, postgres=postgres)
        self.preparer = Preparer(settings, sessions, self.read_sessions, self.http, self.public_base_url)
        self.sender = Sender(settings, self.http)
        self.recorder = AttemptRecorder(settings, sessions, self.worker_id, postgres=postgres)
        self._in_flight = 0
        """Claimed rows handed to the senders and not sent yet (queued or sending)."""
        self._lock = threading.Lock()
        self._recorder_thread: RecorderThread | None = None
        self._stopping = threading.Event()
        self.database = DatabaseWatch("delivery worker", log)
        """The worker's one voice on its database: one line per outage for all its loops (delivery.outage)."""
        self._claim_outage = Outage("claim loop", log, watch=self.database)

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        """Claim and send until ``stop`` is set; then wait for the sends in progress and record them.

        Up to ``2 x worker_concurrency`` claimed rows are held at once (``worker_concurrency`` sending, the
        rest queued), so one claim transaction serves several sends. A queued row is sent only while its
        lease still covers a whole send, and rows not sent when the worker stops are released (``pending``
        again, no attempt: nothing was sent)."""
        concurrency = self.settings.worker_concurrency
        capacity = 2 * concurrency
        self._stopping = stop
        recorder = self._recorder_thread = RecorderThread(
            self.record_batch, self.wake.set, BATCH_GAP_S, watch=self.database
        )
        recorder.start()  # after each batch it wakes the loop: the next write-back of those orders may be due
        engine = self.sessions.kw["bind"]
        listener = None
        if engine.dialect.name == "postgresql":  # rows queued by other processes wake this one (NOTIFY)
            listener = OutboxListener(conninfo(engine), self.wake, stop, watch=self.database).start()
        heartbeat = Heartbeat(
            self.settings, self.sessions, self.worker_id, self.chores, watch=self.database
        ).start()  # /ready, retention
        try:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
                while not stop.is_set():
                    heartbeat.tick()
                    self.wake.clear()  # before claiming: a row committed meanwhile wakes the wait below
                    jobs = self._claim_for_loop(capacity - self._in_flight, stop)
                    for job in jobs:
                        with self._lock:
                            self._in_flight += 1
                        pool.submit(self._send_safely, job)
                    if jobs:  # let rows committed meanwhile gather: fewer, bigger claim transactions
                        stop.wait(BATCH_GAP_S)
                    # fewer than asked: nothing else is due; as many: wait for the senders to catch up
                    self.wake.wait(self.settings.worker_poll_s)
        finally:
            recorder.close()
            heartbeat.stop()
            self._recorder_thread = None
            self.http.close()
            if listener is not None:
                listener.join(timeout=2 * CHECK_STOP_S)

    def _claim_for_loop(self, free: int, stop: threading.Event) -> list[Job]:
        """Up to ``free`` prepared jobs; none when there is no room, or when the claim failed: after a poll's
        wait with its traceback logged, or, for a database that cannot be used, after ``Outage``'s growing wait."""
        if free <= 0:
            return []
        try:
            jobs = self._claim_jobs(free)
        except Exception as exc:
            if database_problem(exc) is None:
                log.exception("claim failed")
                stop.wait(self.settings.worker_poll_s)
            else:  # one line per outage, tries ever less often (delivery.outage)
                stop.wait(self._claim_outage.failed(exc))
            return []
        self._claim_outage.recovered()
        return jobs

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Deliver everything due now, sequentially (tests, ``demo``); returns when nothing is due."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self._claim_jobs(self.settings.worker_concurrency)
            if not jobs:
                return
            for job in jobs:
                finished = self.send(job)
                if finished is None:
                    self.release([job.outbox_id])
                else:
                    self.record_batch([finished])

    def _send_safely(self, job: Job) -> None:
        """A sender thread's work: send ``job`` (unless stopping), hand the attempt to the recorder thread,
        or give the row back when nothing was sent."""
        try:
            finished = None if self._stopping.is_set() else self.send(job)
            if finished is None:  # stopping, or the lease would not cover the send: give the row back
                self.release([job.outbox_id])
            elif self._recorder_thread is not None:
                self._recorder_thread.put(finished)
            else:
                self.record_batch([finished])
        except Exception:
            log.exception("delivery %s failed unexpectedly", job.outbox_id)
        finally:
            with self._lock:
                self._in_flight -= 1
                low = self._in_flight <= self.settings.worker_concurrency
            if low:  # claim again once half the held rows are gone: fewer, bigger claims
                self.wake.set()

    # ------------------------------------------------------------------ the rooms, as the worker's steps

    def _claim_jobs(self, limit: int) -> list[Job]:
        """Claim and prepare; rows claimed but not prepared (a database hiccup) are given back at once."""
        rows = self._claim_rows(limit)
        try:
            return self.prepare(rows)
        except Exception:
            if rows:
                self.release([row.id for row in rows])
            raise

    def claim(self, limit: int) -> list[int]:
        """Claim up to ``limit`` due rows; returns their ids."""
        return [row.id for row in self._claim_rows(limit)]

    def _claim_rows(self, limit: int) -> list[ClaimedRow]:
        return self.claimer.claim(limit)

    def release(self, outbox_ids: list[int]) -> None:
        """Give back claimed rows that were not sent: ``pending`` again, due as before, no attempt."""
        self.claimer.release(outbox_ids)

    def prepare(self, rows: list[ClaimedRow]) -> list[Job]:
        """Load what the claimed ``rows`` need to be sent (``Preparer.prepare``)."""
        return self.preparer.prepare(rows)

    def send(self, job: Job) -> Finished | None:
        """Send one prepared job; None (nothing sent) when its lease no longer covers a whole send."""
        return self.sender.send(job)

    def record_batch(self, items: list[Finished]) -> None:
        """Record attempts in one transaction (``AttemptRecorder.record_batch``)."""
        self.recorder.record_batch(items)

    def record(self, outbox_id: int, outcome: Outcome, started_at: datetime) -> None:
        """Record one attempt that ended now (``record_batch`` of one)."""
        self.record_batch([Finished(outbox_id, outcome, started_at, utcnow())])

    def process(self, outbox_id: int) -> None:
        """Send one row this worker holds (``in_flight``, claimed by it) and record the attempt at once."""
        row = self.claimer.held(outbox_id)
        if row is None:
            return
        [job] = self.prepare([row])
        finished = self.send(job)
        if finished is not None:
            self.record_batch([finished])
