"""Recording: every finished attempt as a ``delivery_attempts`` row, and its outbox row moved on.

``AttemptRecorder.record_batch`` writes many attempts in one transaction; ``RecorderThread`` is the
worker's one thread that gathers the attempts its senders finish and hands them over in batches (bench/
NOTES.md: on SQLite every write transaction is serialized and fsync'd, so fewer, bigger ones).

An outbox row is moved on only while it is still this worker's claim (``in_flight``, ``claimed_by`` it):
``succeeded`` (a vendor's rejection of an order too, which also rejects the order), ``superseded`` (a
newer write-back of the order exists), ``pending`` again with its next attempt due (``delivery.policy``),
or ``dead``. An attempt on a row no longer this worker's is recorded ``late-...`` and changes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.assessment.models import OrderRow
from assessment_hub.config import Settings
from assessment_hub.db.driver import autocommit
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery import sql_pg
from assessment_hub.delivery.jobs import Finished
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.observe import report_attempts
from assessment_hub.delivery.outage import DatabaseWatch, Outage
from assessment_hub.delivery.outbox import enqueue_writeback
from assessment_hub.delivery.policy import next_attempt_delay
from assessment_hub.delivery.senders import Outcome
from assessment_hub.delivery.states import AttemptOutcome, DeliveryState, SendStatus
from assessment_hub.errors import database_problem
from assessment_hub.integrations.credentials import CREDENTIALS_REFUSED, note_credentials
from assessment_hub.kit.states import OrderStatus
from assessment_hub.kit.timestamps import utcnow

log = logging.getLogger("assessment_hub.worker")

_DELIVERED = (SendStatus.SUCCEEDED, SendStatus.REJECTED)
"""Send statuses after which the row is ``succeeded`` (a rejection is the vendor's answer, delivered)."""


@dataclass(slots=True)
class RecordedRow:
    """An outbox row as read for recording, moved on in memory (``_apply``) and then written back whole."""

    id: int
    kind: str
    action: str
    integration_id: str | None
    order_id: str | None
    state: str
    claimed_by: str | None
    lease_until: datetime | None
    next_attempt_at: datetime
    last_error: str | None
    finished_at: datetime | None
    created_at: datetime
    request_id: str | None = None
    """The API request that wrote the row, for the attempt's log line (``delivery.observe``)."""


class AttemptRecorder:
    """Records attempts of the worker ``worker_id``."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], worker_id: str, *, postgres: bool) -> None:
        self.settings = settings
        self.sessions = sessions
        self.worker_id = worker_id
        self.postgres = postgres
        self._read = _OUTBOX_FOR_RECORD_LOCKED if postgres else _OUTBOX_FOR_RECORD

    def record_batch(self, items: list[Finished]) -> None:
        """Record attempts in one transaction (``_record_batch``). PostgreSQL, a batch of plain successes
        (the common case: delivered, nothing to change on the order): ``delivery.sql_pg.record_successes``,
        the same rows and attempts in two round trips."""
        if self.postgres and items and all(_plain_success(item) for item in items):
            with autocommit(self.sessions.kw["bind"]) as dbapi:
                if sql_pg.record_successes(dbapi, worker_id=self.worker_id, items=items, now=utcnow()):
                    return
        self._record_batch(items)

    def _record_batch(self, items: list[Finished]) -> None:
        """Record attempts in one transaction, in Core statements built once: the rows are read (under lock
        on PostgreSQL, in id order), each attempt is inserted and, if its row is still this worker's claim,
        the row moved on in memory by ``_apply``; then every row touched is written back whole with its
        attempt count. An attempt on a row no longer this worker's is recorded ``late-...`` and changes
        nothing."""
        now = utcnow()
        ids = sorted({item.outbox_id for item in items})
        with unit_of_work(self.sessions) as session:
            conn = session.connection()
            rows = {found.id: RecordedRow(**found._mapping) for found in conn.execute(self._read, {"ids": ids})}
            attempts: list[dict[str, Any]] = []
            recorded: list[tuple[RecordedRow, dict[str, Any]]] = []  # for report_attempts, after the commit
            touched: dict[int, RecordedRow] = {}
            refused: set[str] = set()  # integrations whose ATS refused the hub's credentials / accepted a write-back
            accepted: set[str] = set()
            for item in items:
                row, outcome = rows.get(item.outbox_id), item.outcome
                if row is None:
                    continue
                if row.kind == "writeback" and row.integration_id:
                    if outcome.status == SendStatus.SUCCEEDED:
                        accepted.add(row.integration_id)
                    elif outcome.error_class == "needs_human" and outcome.http_status in CREDENTIALS_REFUSED:
                        refused.add(row.integration_id)
                still_mine = row.state == DeliveryState.IN_FLIGHT and row.claimed_by == self.worker_id
                attempt_outcome = AttemptOutcome.late(outcome.status)
                if still_mine:
                    if attempts and outcome.status not in _DELIVERED:
                        conn.execute(_INSERT_ATTEMPT, attempts)  # _apply counts this row's earlier attempts
                        attempts = []
                    attempt_outcome = self._apply(session, row, outcome, now)
                attempts.append(
                    {
                        "outbox_id": row.id,
                        "worker_id": self.worker_id,
                        "started_at": item.started_at,
                        "finished_at": item.finished_at,
                        "duration_ms": outcome.duration_ms
                        or int((item.finished_at - item.started_at).total_seconds() * 1000),
                        "http_status": outcome.http_status,
                        "response_excerpt": outcome.response_excerpt,
                        "error_class": outcome.error_class,
                        "error_message": outcome.error_message,
                        "outcome": attempt_outcome,
                        "request_text": outcome.request_text,
                    }
                )
                touched[row.id] = row
                recorded.append((row, attempts[-1]))
            if refused or accepted:
                note_credentials(session, refused=refused, accepted=accepted)
            if not touched:
                return
            if attempts:
                conn.execute(_INSERT_ATTEMPT, attempts)
            counts: dict[int, int] = dict(conn.execute(_COUNT_ATTEMPTS, {"ids": list(touched)}).tuples().all())
            conn.execute(
                _WRITE_BACK_OUTBOX,
                [
                    {
                        "b_id": row.id,
                        "b_state": row.state,
                        "b_lease_until": row.lease_until,
                        "b_next_attempt_at": row.next_attempt_at,
                        "b_last_error": row.last_error,
                        "b_finished_at": row.finished_at,
                        "b_attempts": counts.get(row.id, 0),
                        "b_updated_at": now,
                    }
                    for row in touched.values()
                ],
            )
        report_attempts(recorded)

    def _apply(self, session: Session, row: RecordedRow, outcome: Outcome, now: datetime) -> AttemptOutcome:
        """Move ``row`` on after ``outcome``; returns the attempt's recorded outcome."""
        row.lease_until = None
        if outcome.status in _DELIVERED:
            row.state, row.finished_at, row.last_error = DeliveryState.SUCCEEDED, now, None
            if outcome.status == SendStatus.REJECTED:
                _reject_order(session, row, outcome.rejection_message or "")
            if outcome.assessment_url and row.order_id:
                session.execute(
                    update(OrderRow).where(OrderRow.id == row.order_id).values(assessment_url=outcome.assessment_url)
                )
            return AttemptOutcome.REJECTED if outcome.status == SendStatus.REJECTED else AttemptOutcome.SUCCEEDED
        row.last_error = outcome.error_message
        if outcome.status == SendStatus.SUPERSEDED or (row.kind == "writeback" and _has_newer_writeback(session, row)):
            row.state, row.finished_at = DeliveryState.SUPERSEDED, now
            return AttemptOutcome.SUPERSEDED
        counted = select(func.count()).select_from(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id == row.id)
        if outcome.error_class == "needs_human":  # its limit counts credential failures since the last (re)start
            counted = counted.where(
                DeliveryAttemptRow.error_class == "needs_human", DeliveryAttemptRow.started_at >= row.created_at
            )
        attempts = 1 + (session.scalar(counted) or 0)
        delay = next_attempt_delay(
            self.settings,
            outcome.error_class or "transient",
            attempts,
            row.created_at,
            now,
            retry_after=outcome.retry_after,
        )
        if delay is None:
            row.state, row.finished_at = DeliveryState.DEAD, now
            return AttemptOutcome.DEAD
        row.state, row.next_attempt_at = DeliveryState.PENDING, now + timedelta(seconds=delay)
        return AttemptOutcome.RETRY


def _plain_success(item: Finished) -> bool:
    return item.outcome.status == SendStatus.SUCCEEDED and not item.outcome.assessment_url


def _has_newer_writeback(session: Session, row: RecordedRow) -> bool:
    newer = session.scalar(
        select(func.count())
        .select_from(OutboxRow)
        .where(
            OutboxRow.order_id == row.order_id,
            OutboxRow.kind == "writeback",
            OutboxRow.action == row.action,
            OutboxRow.id > row.id,
        )
    )
    return bool(newer)


def _reject_order(session: Session, row: RecordedRow, message: str) -> None:
    """The vendor refused the order (422 to ``assessment:order-received``): REJECTED, and its ATS told."""
    order = session.scalar(select(OrderRow).where(OrderRow.id == row.order_id))
    if order is None or order.status != OrderStatus.OPEN:
        return
    order.status, order.rejection_message, order.updated_at = OrderStatus.REJECTED, message, utcnow()
    enqueue_writeback(session, integration_id=order.integration_id, order_id=order.id, action="rejection")


class RecorderThread:
    """The worker's one recorder thread: senders hand it finished attempts (``put``, no waiting) and it
    records everything that finished since its previous transaction in one (``record_batch``), then calls
    ``after_batch`` and waits ``gap_s`` so the next batch gathers. If that transaction fails because the
    database cannot be used (``errors.database_problem``), the attempts are kept and tried again after
    ``outage.Outage``'s growing waits, with what finished meanwhile (recording a row no longer this worker's
    is harmless: ``late-...``). If it fails otherwise, each attempt is tried in one of its own, so one bad
    row does not lose the others; an attempt that still cannot be recorded, or is not recorded when the
    worker stops, leaves its row ``in_flight`` until the lease expires, then it is sent again (at least
    once, as when the process dies between a send and its record)."""

    def __init__(
        self,
        record_batch: Callable[[list[Finished]], None],
        after_batch: Callable[[], None],
        gap_s: float,
        *,
        watch: DatabaseWatch | None = None,
    ) -> None:
        self.record_batch = record_batch
        self.after_batch = after_batch
        self.gap_s = gap_s
        self._items: list[Finished] = []
        self._cond = threading.Condition()
        self._closed = False
        self.outage = Outage("recorder", log, watch=watch)
        self._thread = threading.Thread(target=self._loop, name="delivery-recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, item: Finished) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify()

    def close(self) -> None:
        """Record what is left, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                batch, self._items = self._items, []
                if not batch and self._closed:
                    return
            self._record(batch)
            self.after_batch()
            time.sleep(self.gap_s)  # let attempts gather: fewer, bigger record transactions

    def _record(self, batch: list[Finished]) -> None:
        last_try = False
        while True:
            try:
                self.record_batch(batch)
                self.outage.recovered()
                return
            except Exception as exc:
                if database_problem(exc) is None:
                    log.warning(
                        "recording %d attempts together failed; recording them one by one", len(batch), exc_info=True
                    )
                    break
                wait = self.outage.failed(exc)  # the database is away: keep the attempts, try again later
            if last_try:  # stopping: the rows go back to the queue when their leases end
                log.warning(
                    "stopping with %d attempts not recorded (the database cannot be used): their deliveries "
                    "are sent again once their leases end",
                    len(batch),
                )
                return
            with self._cond:
                self._cond.wait_for(lambda: self._closed, timeout=wait)  # close() cuts the wait short
                last_try = self._closed
                batch += self._items  # what finished meanwhile joins the next try
                self._items = []
        for item in batch:
            try:
                self.record_batch([item])
            except Exception:
                log.exception("recording the attempt on delivery %s failed", item.outbox_id)


_outbox = cast(Table, OutboxRow.__table__)
_attempts = cast(Table, DeliveryAttemptRow.__table__)
_OUTBOX_FOR_RECORD = (
    select(
        _outbox.c.id,
        _outbox.c.kind,
        _outbox.c.action,
        _outbox.c.integration_id,
        _outbox.c.order_id,
        _outbox.c.state,
        _outbox.c.claimed_by,
        _outbox.c.lease_until,
        _outbox.c.next_attempt_at,
        _outbox.c.last_error,
        _outbox.c.finished_at,
        _outbox.c.created_at,
        _outbox.c.request_id,
    )
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_outbox.c.id)
)
_OUTBOX_FOR_RECORD_LOCKED = _OUTBOX_FOR_RECORD.with_for_update()
_INSERT_ATTEMPT = insert(_attempts)
_COUNT_ATTEMPTS = (
    select(_attempts.c.outbox_id, func.count())
    .where(_attempts.c.outbox_id.in_(bindparam("ids", expanding=True)))
    .group_by(_attempts.c.outbox_id)
)
_WRITE_BACK_OUTBOX = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        lease_until=bindparam("b_lease_until"),
        next_attempt_at=bindparam("b_next_attempt_at"),
        last_error=bindparam("b_last_error"),
        finished_at=bindparam("b_finished_at"),
        attempts=bindparam("b_attempts"),
        updated_at=bindparam("b_updated_at"),
    )
)
