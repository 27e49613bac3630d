"""Delivery-worker heartbeats, and the worker's periodic chores (retention).

Each running ``DeliveryWorker`` has one ``worker_heartbeats`` row. Its claim loop calls ``tick()`` on
every turn (an attribute write, no I/O); a side thread writes the time of the last turn into the row
every ``WORKER_HEARTBEAT_S``. So a worker whose loop is stuck stops beating even while its process lives.
``/ready`` and the ``assessment_hub_worker_heartbeat_age_seconds`` metric read the freshest row. A worker
that stops cleanly deletes its row; rows of workers that died are pruned after ``PRUNE_AFTER``.

The same thread starts the retention sweep (``privacy.retention``, in a thread of its own) at its first
beat and then every ``RETENTION_SWEEP_S`` when ``RETENTION_DAYS`` is set (every worker may run it: it is
idempotent).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.base import Base, UTCDateTime
from assessment_hub.db.session import unit_of_work
from assessment_hub.kit.timestamps import utcnow

log = logging.getLogger("assessment_hub.worker")

PRUNE_AFTER = timedelta(days=1)
RETENTION_SWEEP_S = 3600.0


class WorkerHeartbeatRow(Base):
    """One running delivery worker: who (``worker_id``: host:pid:thread), since when, last loop turn."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Heartbeat:
    """``start()`` once, ``tick()`` from the claim loop, ``stop()`` when the worker ends."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], worker_id: str) -> None:
        self.settings = settings
        self.sessions = sessions
        self.worker_id = worker_id
        self._last_turn = utcnow()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="delivery-heartbeat", daemon=True)
        self._next_sweep = 0.0  # the first retention sweep at the first beat
        self._sweeper: threading.Thread | None = None

    def tick(self) -> None:
        """The claim loop turned (cheap: called on every turn)."""
        self._last_turn = utcnow()

    def start(self) -> Heartbeat:
        now = utcnow()
        try:
            with unit_of_work(self.sessions) as session:
                session.execute(delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.beat_at < now - PRUNE_AFTER))
                session.merge(
                    WorkerHeartbeatRow(
                        worker_id=self.worker_id,
                        hostname=socket.gethostname()[:255],
                        pid=os.getpid(),
                        started_at=now,
                        beat_at=now,
                    )
                )
        except Exception:
            log.warning("heartbeat: could not register worker %s", self.worker_id, exc_info=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            with unit_of_work(self.sessions) as session:
                session.execute(delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.worker_id == self.worker_id))
        except Exception:
            log.warning("heartbeat: could not remove worker %s", self.worker_id, exc_info=True)

    def beat(self) -> None:
        """Write the last loop turn into this worker's row (recreated if it was pruned)."""
        with unit_of_work(self.sessions) as session:
            result: Any = session.execute(
                update(WorkerHeartbeatRow)
                .where(WorkerHeartbeatRow.worker_id == self.worker_id)
                .values(beat_at=self._last_turn)
            )
            updated = result.rowcount
            if not updated:
                session.add(
                    WorkerHeartbeatRow(
                        worker_id=self.worker_id,
                        hostname=socket.gethostname()[:255],
                        pid=os.getpid(),
                        started_at=utcnow(),
                        beat_at=self._last_turn,
                    )
                )

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.worker_heartbeat_s):
            try:
                self.beat()
            except Exception as exc:
                log.warning("heartbeat failed: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            sweeping = self._sweeper is not None and self._sweeper.is_alive()
            if self.settings.retention_days is not None and time.monotonic() >= self._next_sweep and not sweeping:
                # its own thread: a long sweep must not delay the beats
                self._next_sweep = time.monotonic() + RETENTION_SWEEP_S
                self._sweeper = threading.Thread(target=self._sweep, name="retention-sweep", daemon=True)
                self._sweeper.start()

    def _sweep(self) -> None:
        from assessment_hub.privacy.retention import apply_retention

        try:
            apply_retention(self.sessions, self.settings)
        except Exception:
            log.exception("retention sweep failed")
