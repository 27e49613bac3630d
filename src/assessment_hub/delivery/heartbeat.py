"""Delivery-worker heartbeats, and the worker's periodic chores (pruning, retention).

Each running ``DeliveryWorker`` has one ``worker_heartbeats`` row. Its claim loop calls ``tick()`` on
every turn (an attribute write, no I/O); a side thread writes the time of the last turn into the row
every ``WORKER_HEARTBEAT_S``. So a worker whose loop is stuck stops beating even while its process lives.
``/ready`` and the ``assessment_hub_worker_heartbeat_age_seconds`` metric read the freshest row. A worker
that stops cleanly deletes its row; rows of workers that died are pruned after ``PRUNE_AFTER``.

The same thread starts the worker's periodic chores (``Chore``: each in a thread of its own, at the first
beat and then every ``interval_s``), which the composition root hands to the worker
(``privacy.retention.retention_chores``): the prune of expired inbound event ids, and the retention sweep
when ``RETENTION_DAYS`` is set.

While the database cannot be used (``errors.database_problem``) the beats and each chore keep their own pace (no
backoff) and count in the worker's ``delivery.outage.DatabaseWatch`` with its claim loop, recorder and
``LISTEN`` connection: one warning for the worker when the outage starts, one when a try of any of them
succeeds again, nothing in between; any other exception is a fault and is logged with its traceback.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.base import Base, UTCDateTime
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.outage import DatabaseWatch, Outage
from assessment_hub.errors import database_problem, first_line
from assessment_hub.kit.timestamps import utcnow

log = logging.getLogger("assessment_hub.worker")

PRUNE_AFTER = timedelta(days=1)


@dataclass
class Chore:
    """Work a delivery worker does every ``interval_s`` seconds (idempotent: every worker may do it). A run
    that finds the database unusable counts in the worker's outage (``Heartbeat``: one line per outage)."""

    name: str
    interval_s: float
    run: Callable[[], object]
    next_at: float = 0.0
    thread: threading.Thread | None = field(default=None, repr=False)


class WorkerHeartbeatRow(Base):
    """One running delivery worker: who (``worker_id``: host:pid:thread), since when, last loop turn."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Heartbeat:
    """``start()`` once, ``tick()`` from the claim loop, ``stop()`` when the worker ends.

    ``watch``: the worker's (``DeliveryWorker.database``); without one, the beats and chores share one of
    their own, whose lines start ``heartbeat:``."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        worker_id: str,
        chores: Sequence[Chore] = (),
        *,
        watch: DatabaseWatch | None = None,
    ) -> None:
        self.settings = settings
        self.chores = list(chores)
        self.sessions = sessions
        self.worker_id = worker_id
        self._last_turn = utcnow()
        self.watch = watch or DatabaseWatch("heartbeat", log)
        self._outage = Outage("heartbeat", log, every_s=settings.worker_heartbeat_s, watch=self.watch)
        self._chore_outages = [
            Outage(f"{chore.name} chore", log, every_s=chore.interval_s, watch=self.watch) for chore in self.chores
        ]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="delivery-heartbeat", daemon=True)

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
        except Exception as exc:  # the outage's first line; the first beat that succeeds creates the row
            _failed(self._outage, f"heartbeat: registering worker {self.worker_id}", exc)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            with unit_of_work(self.sessions) as session:
                session.execute(delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.worker_id == self.worker_id))
        except Exception as exc:  # a database that cannot be used: one line (the claim loop's Outage says more)
            log.warning(
                "heartbeat: could not remove worker %s: %s",
                self.worker_id,
                first_line(exc),
                exc_info=database_problem(exc) is None,
            )

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
                _failed(self._outage, "heartbeat", exc)
            else:
                self._outage.recovered()
            for chore, outage in zip(self.chores, self._chore_outages, strict=True):
                busy = chore.thread is not None and chore.thread.is_alive()
                if not busy and time.monotonic() >= chore.next_at:  # its own thread: the beats go on meanwhile
                    chore.next_at = time.monotonic() + chore.interval_s
                    chore.thread = threading.Thread(
                        target=_run_chore, args=(chore, outage), name=chore.name, daemon=True
                    )
                    chore.thread.start()


def _run_chore(chore: Chore, outage: Outage) -> None:
    try:
        chore.run()
    except Exception as exc:
        _failed(outage, chore.name, exc)
    else:
        outage.recovered()


def _failed(outage: Outage, what: str, exc: Exception) -> None:
    """A database that cannot be used: counted in ``outage`` (the worker's watch says so once per outage;
    the beats and chores keep their own pace); any other exception is a fault, logged with its traceback
    every time."""
    if database_problem(exc) is None:
        log.error("%s failed", what, exc_info=exc)
    else:
        outage.failed(exc)
