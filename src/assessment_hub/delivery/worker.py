"""The delivery worker: claims due outbox rows, sends them, records every attempt.

Claiming: rows that are ``pending`` and due, or ``in_flight`` with an expired lease (their worker
died), oldest due first. On PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` so any number
of worker processes can run; on SQLite the claim runs in a ``BEGIN IMMEDIATE`` transaction, so claims
are serialized. A claimed row is ``in_flight`` with a lease (``worker_lease_s``) and the worker's id.

Per-order revision order: a write-back is not claimed while an older write-back of the same order is
still pending or in flight. A write-back for which a newer one exists is ``superseded``, never sent
(so an operator retrying an old dead one cannot put stale data over newer data in the ATS).

The job carries only the row id; the sender reloads everything, so a retry sends what is current
(and a webhook sends the same bytes, with the same event id, every time).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from assessment_hub.assessment.models import OrderRow, ResultRevisionRow
from assessment_hub.config import Settings
from assessment_hub.connectors.base import (
    AttachmentSnapshot,
    ConnectorContext,
    ConnectorError,
    OrderSnapshot,
    ResultSnapshot,
)
from assessment_hub.connectors.registry import build_connector
from assessment_hub.db.engine import read_only
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.heartbeat import Heartbeat
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.observe import report_attempts
from assessment_hub.delivery.outbox import enqueue_writeback
from assessment_hub.delivery.policy import next_attempt_delay
from assessment_hub.delivery.senders import Outcome, connector_failure, send_webhook
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.links import attachment_link
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.webhooks.models import WebhookEndpointRow

log = logging.getLogger("assessment_hub.worker")


BATCH_GAP_S = 0.01
"""After a claim that found rows, and after recording a batch, the claimer and the recorder wait this
long before their next transaction, so that rows and attempts arriving meanwhile share one (on SQLite
every write transaction is serialized and fsync'd). It adds at most this much to a delivery's latency."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class Job:
    """A claimed row with everything its send needs, loaded with the rest of its claim (``prepare``)."""

    outbox_id: int
    kind: str
    action: str
    body: str | None
    lease_until: datetime | None
    superseded: bool = False
    target: Any = None
    """Webhook: ``(url, secret)``; write-back: ``(tool, context, order, result)``; None: the destination
    no longer exists."""


@dataclass
class Finished:
    """An attempt that ended, waiting to be recorded."""

    outbox_id: int
    outcome: Outcome
    started_at: datetime
    finished_at: datetime


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
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        # reads that write nothing begin DEFERRED on SQLite: they do not queue for the write lock
        self.read_sessions = sessionmaker(read_only(sessions.kw["bind"]), expire_on_commit=False)
        self.worker_id = worker_id or default_worker_id()
        self.wake = wake or threading.Event()
        self.public_base_url = public_base_url or settings.public_base_url or "http://127.0.0.1:8000"
        self.http = httpx.Client(timeout=settings.delivery_timeout_s)
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self._in_flight = 0
        """Claimed rows handed to the senders and not sent yet (queued or sending)."""
        self._lock = threading.Lock()
        self._decrypted: dict[str, Any] = {}
        """Decrypted settings and secrets by their ciphertext (read from the row every time, so a changed
        setting is used at once: only the decryption is saved)."""
        self._recorder: _Recorder | None = None
        self._stopping = threading.Event()

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
        recorder = self._recorder = _Recorder(self)
        recorder.start()
        heartbeat = Heartbeat(self.settings, self.sessions, self.worker_id).start()
        try:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
                while not stop.is_set():
                    heartbeat.tick()
                    self.wake.clear()  # before claiming: a row committed meanwhile wakes the wait below
                    free = capacity - self._in_flight
                    jobs: list[Job] = []
                    if free > 0:
                        try:
                            jobs = self._claim_jobs(free)
                        except Exception:
                            log.exception("claim failed")
                            stop.wait(self.settings.worker_poll_s)
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
            self._recorder = None
            self.http.close()

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
        try:
            finished = None if self._stopping.is_set() else self.send(job)
            if finished is None:  # stopping, or the lease would not cover the send: give the row back
                self.release([job.outbox_id])
            elif self._recorder is not None:
                self._recorder.put(finished)
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

    # ------------------------------------------------------------------ claim

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

    def _claim_rows(self, limit: int) -> list[Any]:
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.worker_lease_s)
        with unit_of_work(self.sessions) as session:
            conn = session.connection()
            rows = conn.execute(_CLAIM_LOCKED if self._postgres else _CLAIM, {"b_now": now, "b_limit": limit}).all()
            if rows:
                conn.execute(
                    _MARK_CLAIMED,
                    {
                        "ids": [row.id for row in rows],
                        "b_worker": self.worker_id,
                        "b_now": now,
                        "b_lease_until": lease_until,
                    },
                )
        return [SimpleNamespace(**row._mapping, lease_until=lease_until) for row in rows]

    def release(self, outbox_ids: list[int]) -> None:
        """Give back claimed rows that were not sent: ``pending`` again, due as before, no attempt."""
        with unit_of_work(self.sessions) as session:
            session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(outbox_ids), OutboxRow.state == "in_flight", OutboxRow.claimed_by == self.worker_id
                )
                .values(state="pending", claimed_by=None, lease_until=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    # ------------------------------------------------------------------ send

    def process(self, outbox_id: int) -> None:
        """Send one row this worker holds (``in_flight``, claimed by it) and record the attempt at once."""
        with self.read_sessions() as session:
            row = session.execute(_OUTBOX_FOR_JOB, {"b_id": outbox_id}).first()
        if row is None or row.state != "in_flight" or row.claimed_by != self.worker_id:
            return
        jobs = self.prepare([row])
        finished = self.send(jobs[0])
        if finished is not None:
            self.record_batch([finished])

    def prepare(self, rows: list[Any]) -> list[Job]:
        """Load what the claimed ``rows`` need to be sent, set-based: one read transaction and a query per
        table (rows newer than a write-back, endpoints, integrations, orders, revisions with attachments)."""
        if not rows:
            return []
        jobs = [Job(row.id, row.kind, row.action, row.body, row.lease_until) for row in rows]
        writebacks = [(job, row) for job, row in zip(jobs, rows, strict=True) if row.kind == "writeback"]
        hooks = [(job, row) for job, row in zip(jobs, rows, strict=True) if row.kind == "webhook"]
        with self.read_sessions() as session:
            conn = session.connection()
            if hooks:
                endpoints = {
                    e.id: e for e in conn.execute(_ENDPOINTS, {"ids": list({row.endpoint_id for _, row in hooks})})
                }
                for job, row in hooks:
                    endpoint = endpoints.get(row.endpoint_id)
                    if endpoint is not None:
                        job.target = (endpoint.url, self._decrypt(endpoint.secret_encrypted))
            if writebacks:
                newer = set(conn.scalars(_HAS_NEWER, {"ids": [job.outbox_id for job, _ in writebacks]}))
                live = []
                for job, row in writebacks:
                    # e.g. an operator retried an old dead write-back: never send stale data over newer
                    job.superseded = job.outbox_id in newer
                    if not job.superseded:
                        live.append((job, row))
                if live:
                    self._writeback_jobs(session, live)
        return jobs

    def _writeback_jobs(self, session: Session, live: list[tuple[Job, Any]]) -> None:
        conn = session.connection()
        integrations = {
            i.id: i for i in conn.execute(_INTEGRATIONS, {"ids": list({row.integration_id for _, row in live})})
        }
        orders = {o.id: o for o in conn.execute(_ORDERS, {"ids": list({row.order_id for _, row in live})})}
        revision_ids = list({row.revision_id for _, row in live if row.action == "result" and row.revision_id})
        revisions = (
            {
                r.id: r
                for r in session.scalars(
                    select(ResultRevisionRow)
                    .where(ResultRevisionRow.id.in_(revision_ids))
                    .options(selectinload(ResultRevisionRow.attachments))
                )
            }
            if revision_ids
            else {}
        )
        for job, row in live:
            integration, order = integrations.get(row.integration_id), orders.get(row.order_id)
            if integration is None or integration.deleted_at is not None or order is None:
                continue
            order_snapshot = OrderSnapshot(
                id=order.id,
                integration_id=order.integration_id,
                package_id=order.package_id,
                status=order.status,
                candidate=order.candidate,
                application=order.application,
                job=order.job,
                remote_data=order.remote_data,
                rejection_message=order.rejection_message,
            )
            result = None
            if row.action == "result":
                revision = revisions.get(row.revision_id)
                if revision is None:
                    continue
                result = result_snapshot(revision, self.settings, self.public_base_url)
            settings = dict(self._decrypt(integration.settings_encrypted)) if integration.settings_encrypted else {}
            context = ConnectorContext(
                integration_id=integration.id,
                settings=settings,
                hub_settings=self.settings,
                http=self.http,
                sessions=self.sessions,
            )
            job.target = (integration.tool, context, order_snapshot, result)

    def _decrypt(self, ciphertext: str) -> Any:
        value = self._decrypted.get(ciphertext)
        if value is None:
            if len(self._decrypted) >= 4096:
                self._decrypted.clear()
            value = self._decrypted[ciphertext] = self.settings.cipher.decrypt_json(ciphertext)
        return value

    def send(self, job: Job) -> Finished | None:
        """Send one prepared job; None (nothing sent) when its lease no longer covers a whole send."""
        started_at = utcnow()
        if (
            job.lease_until is not None
            and started_at + timedelta(seconds=self.settings.delivery_timeout_s) >= job.lease_until
        ):
            return None
        started = time.monotonic()
        if job.superseded:
            outcome = Outcome("superseded", error_message="a newer write-back of this order exists; not sent")
        elif job.target is None:
            outcome = Outcome(
                "failed",
                error_class="bad_input",
                error_message="the destination no longer exists (endpoint or integration deleted)",
            )
        elif job.kind == "webhook":
            url, secret = job.target
            outcome = send_webhook(self.http, url, secret, job.body or "", job.action, self.settings.delivery_timeout_s)
        else:
            outcome = self._send_writeback(job.action, *job.target, started=started)
        return Finished(job.outbox_id, outcome, started_at, utcnow())

    def _send_writeback(
        self,
        action: str,
        tool: str,
        context: ConnectorContext,
        order: OrderSnapshot,
        result: ResultSnapshot | None,
        *,
        started: float,
    ) -> Outcome:
        connector = build_connector(tool, context)
        try:
            if action == "result":
                assert result is not None
                connector.write_result(order, result)
            else:
                connector.write_rejection(order, order.rejection_message or "The vendor rejected the order.")
        except ConnectorError as exc:
            return connector_failure(exc, started)
        except httpx.TimeoutException:
            return Outcome("failed", error_class="transient", error_message="the ATS did not answer in time")
        except httpx.HTTPError as exc:
            return Outcome("failed", error_class="transient", error_message=f"{type(exc).__name__}: {exc}")
        return Outcome("succeeded", int((time.monotonic() - started) * 1000))

    # ------------------------------------------------------------------ record

    def record(self, outbox_id: int, outcome: Outcome, started_at) -> None:
        """Record one attempt that ended now (``record_batch`` of one)."""
        self.record_batch([Finished(outbox_id, outcome, started_at, utcnow())])

    def record_batch(self, items: list[Finished]) -> None:
        """Record attempts in one transaction, in Core statements built once: the rows are read (under lock
        on PostgreSQL, in id order), each attempt is inserted and, if its row is still this worker's claim,
        the row moved on in memory by ``_apply``; then every row touched is written back whole with its
        attempt count. An attempt on a row no longer this worker's is recorded ``late-...`` and changes
        nothing."""
        now = utcnow()
        ids = sorted({item.outbox_id for item in items})
        with unit_of_work(self.sessions) as session:
            conn = session.connection()
            rows = {
                found.id: SimpleNamespace(**found._mapping)
                for found in conn.execute(
                    _OUTBOX_FOR_RECORD_LOCKED if self._postgres else _OUTBOX_FOR_RECORD, {"ids": ids}
                )
            }
            attempts: list[dict[str, Any]] = []
            recorded: list[tuple[Any, dict[str, Any]]] = []
            touched: dict[int, Any] = {}
            for item in items:
                row, outcome = rows.get(item.outbox_id), item.outcome
                if row is None:
                    continue
                still_mine = row.state == "in_flight" and row.claimed_by == self.worker_id
                attempt_outcome = f"late-{outcome.status}"[:16]
                if still_mine:
                    if attempts and outcome.status not in ("succeeded", "rejected"):
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
                    }
                )
                touched[row.id] = row
                recorded.append((row, attempts[-1]))
            if not touched:
                return
            if attempts:
                conn.execute(_INSERT_ATTEMPT, attempts)
            counts = dict(conn.execute(_COUNT_ATTEMPTS, {"ids": list(touched)}).all())
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

    def _apply(self, session: Session, row: Any, outcome: Outcome, now) -> str:
        row.lease_until = None
        if outcome.status in ("succeeded", "rejected"):
            row.state, row.finished_at, row.last_error = "succeeded", now, None
            if outcome.status == "rejected":
                self._reject_order(session, row, outcome.rejection_message or "")
            if outcome.assessment_url and row.order_id:
                session.execute(
                    update(OrderRow).where(OrderRow.id == row.order_id).values(assessment_url=outcome.assessment_url)
                )
            return outcome.status
        row.last_error = outcome.error_message
        if outcome.status == "superseded" or (row.kind == "writeback" and self._has_newer_writeback(session, row)):
            row.state, row.finished_at = "superseded", now
            return "superseded"
        counted = select(func.count()).select_from(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id == row.id)
        if outcome.error_class == "needs_human":  # its limit counts credential failures since the last (re)start
            counted = counted.where(
                DeliveryAttemptRow.error_class == "needs_human", DeliveryAttemptRow.started_at >= row.created_at
            )
        attempts = 1 + session.scalar(counted)
        delay = next_attempt_delay(
            self.settings,
            outcome.error_class or "transient",
            attempts,
            row.created_at,
            now,
            retry_after=outcome.retry_after,
        )
        if delay is None:
            row.state, row.finished_at = "dead", now
            return "dead"
        row.state, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
        return "retry"

    @staticmethod
    def _has_newer_writeback(session: Session, row: OutboxRow) -> bool:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(
                    OutboxRow.order_id == row.order_id,
                    OutboxRow.kind == "writeback",
                    OutboxRow.action == row.action,
                    OutboxRow.id > row.id,
                )
            )
            > 0
        )

    @staticmethod
    def _reject_order(session: Session, row: OutboxRow, message: str) -> None:
        order = session.scalar(select(OrderRow).where(OrderRow.id == row.order_id))
        if order is None or order.status != "OPEN":
            return
        order.status, order.rejection_message, order.updated_at = "REJECTED", message, utcnow()
        enqueue_writeback(session, integration_id=order.integration_id, order_id=order.id, action="rejection")


_outbox = OutboxRow.__table__
_attempts = DeliveryAttemptRow.__table__
_OUTBOX_FOR_RECORD = (
    select(
        _outbox.c.id,
        _outbox.c.kind,
        _outbox.c.action,
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
_older = _outbox.alias("older")
_CLAIM = (
    select(
        _outbox.c.id,
        _outbox.c.kind,
        _outbox.c.action,
        _outbox.c.integration_id,
        _outbox.c.order_id,
        _outbox.c.revision_id,
        _outbox.c.endpoint_id,
        _outbox.c.body,
    )
    .where(
        or_(
            and_(_outbox.c.state == "pending", _outbox.c.next_attempt_at <= bindparam("b_now")),
            and_(_outbox.c.state == "in_flight", _outbox.c.lease_until < bindparam("b_now")),
        )
    )
    # per-order revision order: no write-back while an older one of its order is pending or in flight
    .where(
        or_(
            _outbox.c.kind != "writeback",
            ~exists().where(
                _older.c.order_id == _outbox.c.order_id,
                _older.c.kind == "writeback",
                _older.c.id < _outbox.c.id,
                _older.c.state.in_(("pending", "in_flight")),
            ),
        )
    )
    .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
    .limit(bindparam("b_limit"))
)
_CLAIM_LOCKED = _CLAIM.with_for_update(skip_locked=True, of=_outbox)
_MARK_CLAIMED = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state="in_flight",
        claimed_by=bindparam("b_worker"),
        updated_at=bindparam("b_now"),
        lease_until=bindparam("b_lease_until"),
    )
)
_OUTBOX_FOR_JOB = select(
    _outbox.c.id,
    _outbox.c.kind,
    _outbox.c.action,
    _outbox.c.integration_id,
    _outbox.c.order_id,
    _outbox.c.revision_id,
    _outbox.c.endpoint_id,
    _outbox.c.body,
    _outbox.c.state,
    _outbox.c.claimed_by,
    _outbox.c.lease_until,
).where(_outbox.c.id == bindparam("b_id"))
_newer = _outbox.alias("newer")
_HAS_NEWER = select(_outbox.c.id).where(
    _outbox.c.id.in_(bindparam("ids", expanding=True)),
    exists().where(
        _newer.c.order_id == _outbox.c.order_id,
        _newer.c.kind == "writeback",
        _newer.c.action == _outbox.c.action,
        _newer.c.id > _outbox.c.id,
    ),
)
_endpoints = WebhookEndpointRow.__table__
_ENDPOINTS = select(_endpoints.c.id, _endpoints.c.url, _endpoints.c.secret_encrypted).where(
    _endpoints.c.id.in_(bindparam("ids", expanding=True))
)
_integrations = IntegrationRow.__table__
_INTEGRATIONS = select(
    _integrations.c.id, _integrations.c.tool, _integrations.c.deleted_at, _integrations.c.settings_encrypted
).where(_integrations.c.id.in_(bindparam("ids", expanding=True)))
_orders = OrderRow.__table__
_ORDERS = select(
    _orders.c.id,
    _orders.c.integration_id,
    _orders.c.package_id,
    _orders.c.status,
    _orders.c.candidate,
    _orders.c.application,
    _orders.c.job,
    _orders.c.remote_data,
    _orders.c.rejection_message,
).where(_orders.c.id.in_(bindparam("ids", expanding=True)))


class _Recorder:
    """The worker's one recorder thread: senders hand it finished attempts (``put``, no waiting) and it
    records everything that finished since its previous transaction in one (``record_batch``). If that
    transaction fails, each attempt is tried in one of its own, so one bad row does not lose the others;
    an attempt that still cannot be recorded leaves its row ``in_flight`` until the lease expires, then it
    is sent again (at least once, as when the process dies between a send and its record)."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self._items: list[Finished] = []
        self._cond = threading.Condition()
        self._closed = False
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
            self.worker.wake.set()  # the next write-back of these orders may be claimable now
            time.sleep(BATCH_GAP_S)  # let attempts gather: fewer, bigger record transactions

    def _record(self, batch: list[Finished]) -> None:
        try:
            self.worker.record_batch(batch)
            return
        except Exception:
            log.warning("recording %d attempts together failed; recording them one by one", len(batch), exc_info=True)
        for item in batch:
            try:
                self.worker.record_batch([item])
            except Exception:
                log.exception("recording the attempt on delivery %s failed", item.outbox_id)


def result_snapshot(revision: ResultRevisionRow, settings: Settings, base_url: str) -> ResultSnapshot:
    return ResultSnapshot(
        id=revision.id,
        revision=revision.revision,
        status=revision.status,
        score=revision.score,
        max_score=revision.max_score,
        result_url=revision.result_url,
        completed_at=revision.completed_at,
        attributes=revision.attributes,
        remote_fields=revision.remote_fields,
        attachments=[
            AttachmentSnapshot(
                name=a.name,
                content_type=a.content_type,
                sha256=a.sha256,
                size_bytes=a.size_bytes,
                url=attachment_link(settings, base_url, a.sha256, a.name),
            )
            for a in revision.attachments
        ],
    )
