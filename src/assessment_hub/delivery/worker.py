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
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload, sessionmaker

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
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.outbox import enqueue_writeback
from assessment_hub.delivery.policy import next_attempt_delay
from assessment_hub.delivery.senders import Outcome, connector_failure, send_webhook
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import integration_settings
from assessment_hub.kit.links import attachment_link
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.webhooks.models import WebhookEndpointRow
from assessment_hub.webhooks.service import endpoint_secret

log = logging.getLogger("assessment_hub.worker")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class Claim:
    outbox_id: int


class DeliveryWorker:
    """One worker: a claimer loop feeding a pool of ``worker_concurrency`` senders."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *, worker_id: str | None = None,
                 wake: threading.Event | None = None, public_base_url: str | None = None) -> None:
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
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        """Claim and send until ``stop`` is set; then wait for the sends in progress."""
        concurrency = self.settings.worker_concurrency
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
            while not stop.is_set():
                free = concurrency - self._in_flight
                claimed: list[int] = []
                if free > 0:
                    try:
                        claimed = self.claim(free)
                    except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                        log.exception("claim failed")
                        stop.wait(self.settings.worker_poll_s)
                for outbox_id in claimed:
                    with self._lock:
                        self._in_flight += 1
                    pool.submit(self._process_safely, outbox_id)
                if not claimed:
                    self.wake.wait(self.settings.worker_poll_s)
                    self.wake.clear()
        self.http.close()

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Deliver everything due now, sequentially (tests, ``demo``); returns when nothing is due."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claimed = self.claim(self.settings.worker_concurrency)
            if not claimed:
                return
            for outbox_id in claimed:
                self.process(outbox_id)

    def _process_safely(self, outbox_id: int) -> None:
        try:
            self.process(outbox_id)
        except Exception:  # noqa: BLE001 - the row's lease expires and it is retried
            log.exception("delivery %s failed unexpectedly", outbox_id)
        finally:
            with self._lock:
                self._in_flight -= 1
            self.wake.set()

    # ------------------------------------------------------------------ claim

    def claim(self, limit: int) -> list[int]:
        now = utcnow()
        older = aliased(OutboxRow)
        blocked = exists().where(
            older.order_id == OutboxRow.order_id, older.kind == "writeback", older.id < OutboxRow.id,
            older.state.in_(("pending", "in_flight")),
        )
        query = (
            select(OutboxRow.id)
            .where(or_(and_(OutboxRow.state == "pending", OutboxRow.next_attempt_at <= now),
                       and_(OutboxRow.state == "in_flight", OutboxRow.lease_until < now)))
            .where(or_(OutboxRow.kind != "writeback", ~blocked))
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=OutboxRow)
        with unit_of_work(self.sessions) as session:
            ids = list(session.scalars(query))
            if ids:
                session.execute(
                    update(OutboxRow).where(OutboxRow.id.in_(ids))
                    .values(state="in_flight", claimed_by=self.worker_id, updated_at=now,
                            lease_until=now + timedelta(seconds=self.settings.worker_lease_s))
                    .execution_options(synchronize_session=False)
                )
        return ids

    # ------------------------------------------------------------------ send

    def process(self, outbox_id: int) -> None:
        started_at = utcnow()
        started = time.monotonic()
        with self.read_sessions() as session:
            row = session.get(OutboxRow, outbox_id)
            if row is None or row.state != "in_flight" or row.claimed_by != self.worker_id:
                return
            superseded = row.kind == "writeback" and self._has_newer_writeback(session, row)
            if row.kind == "webhook":
                endpoint = session.get(WebhookEndpointRow, row.endpoint_id)
                job = None if endpoint is None else (endpoint.url, endpoint_secret(endpoint, self.settings.cipher))
            elif not superseded:
                job = self._writeback_job(session, row)
            kind, action, body = row.kind, row.action, row.body
        if superseded:  # e.g. an operator retried an old dead write-back: never send stale data over newer
            outcome = Outcome("superseded", error_message="a newer write-back of this order exists; not sent")
        elif job is None:
            outcome = Outcome("failed", error_class="bad_input",
                              error_message="the destination no longer exists (endpoint or integration deleted)")
        elif kind == "webhook":
            url, secret = job
            outcome = send_webhook(self.http, url, secret, body or "", action, self.settings.delivery_timeout_s)
        else:
            outcome = self._send_writeback(action, *job, started=started)
        self.record(outbox_id, outcome, started_at)

    def _writeback_job(self, session: Session, row: OutboxRow):  # noqa: ANN202 - internal tuple
        integration = session.get(IntegrationRow, row.integration_id)
        order = session.get(OrderRow, row.order_id)
        if integration is None or integration.deleted_at is not None or order is None:
            return None
        order_snapshot = OrderSnapshot(
            id=order.id, integration_id=order.integration_id, package_id=order.package_id, status=order.status,
            candidate=order.candidate, application=order.application, job=order.job,
            remote_data=order.remote_data, rejection_message=order.rejection_message)
        result = None
        if row.action == "result":
            revision = session.scalar(select(ResultRevisionRow).where(ResultRevisionRow.id == row.revision_id)
                                      .options(selectinload(ResultRevisionRow.attachments)))
            if revision is None:
                return None
            result = result_snapshot(revision, self.settings, self.public_base_url)
        context = ConnectorContext(integration_id=integration.id,
                                   settings=integration_settings(integration, self.settings.cipher),
                                   hub_settings=self.settings, http=self.http, sessions=self.sessions)
        return integration.tool, context, order_snapshot, result

    def _send_writeback(self, action: str, tool: str, context: ConnectorContext, order: OrderSnapshot,
                        result: ResultSnapshot | None, *, started: float) -> Outcome:
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

    def record(self, outbox_id: int, outcome: Outcome, started_at) -> None:  # noqa: ANN001
        """Record the attempt and, if the row is still this worker's claim, its outcome -- in Core statements
        built once (the row is read under lock, changed in memory by ``_apply``, written back whole)."""
        now = utcnow()
        with unit_of_work(self.sessions) as session:
            conn = session.connection()
            found = conn.execute(_OUTBOX_FOR_RECORD_LOCKED if self._postgres else _OUTBOX_FOR_RECORD,
                                 {"b_id": outbox_id}).first()
            if found is None:
                return
            row = SimpleNamespace(**found._mapping)
            attempt_outcome = outcome.status
            still_mine = row.state == "in_flight" and row.claimed_by == self.worker_id
            if still_mine:
                attempt_outcome = self._apply(session, row, outcome, now)
            conn.execute(_INSERT_ATTEMPT, {
                "outbox_id": row.id, "worker_id": self.worker_id, "started_at": started_at, "finished_at": now,
                "duration_ms": outcome.duration_ms or int((now - started_at).total_seconds() * 1000),
                "http_status": outcome.http_status, "response_excerpt": outcome.response_excerpt,
                "error_class": outcome.error_class, "error_message": outcome.error_message,
                "outcome": attempt_outcome if still_mine else f"late-{outcome.status}"[:16]})
            attempts = conn.execute(_COUNT_ATTEMPTS, {"b_id": row.id}).scalar_one()
            conn.execute(_WRITE_BACK_OUTBOX, {
                "b_id": row.id, "b_state": row.state, "b_lease_until": row.lease_until,
                "b_next_attempt_at": row.next_attempt_at, "b_last_error": row.last_error,
                "b_finished_at": row.finished_at, "b_attempts": attempts, "b_updated_at": now})

    def _apply(self, session: Session, row: Any, outcome: Outcome, now) -> str:  # noqa: ANN001
        row.lease_until = None
        if outcome.status in ("succeeded", "rejected"):
            row.state, row.finished_at, row.last_error = "succeeded", now, None
            if outcome.status == "rejected":
                self._reject_order(session, row, outcome.rejection_message or "")
            if outcome.assessment_url and row.order_id:
                session.execute(update(OrderRow).where(OrderRow.id == row.order_id)
                                .values(assessment_url=outcome.assessment_url))
            return outcome.status
        row.last_error = outcome.error_message
        if outcome.status == "superseded" or (row.kind == "writeback" and self._has_newer_writeback(session, row)):
            row.state, row.finished_at = "superseded", now
            return "superseded"
        counted = select(func.count()).select_from(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id == row.id)
        if outcome.error_class == "needs_human":  # its limit counts credential failures since the last (re)start
            counted = counted.where(DeliveryAttemptRow.error_class == "needs_human",
                                    DeliveryAttemptRow.started_at >= row.created_at)
        attempts = 1 + session.scalar(counted)
        delay = next_attempt_delay(self.settings, outcome.error_class or "transient", attempts, row.created_at, now,
                                   retry_after=outcome.retry_after)
        if delay is None:
            row.state, row.finished_at = "dead", now
            return "dead"
        row.state, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
        return "retry"

    @staticmethod
    def _has_newer_writeback(session: Session, row: OutboxRow) -> bool:
        return session.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.order_id == row.order_id, OutboxRow.kind == "writeback", OutboxRow.action == row.action,
            OutboxRow.id > row.id)) > 0

    @staticmethod
    def _reject_order(session: Session, row: OutboxRow, message: str) -> None:
        order = session.scalar(select(OrderRow).where(OrderRow.id == row.order_id))
        if order is None or order.status != "OPEN":
            return
        order.status, order.rejection_message, order.updated_at = "REJECTED", message, utcnow()
        enqueue_writeback(session, integration_id=order.integration_id, order_id=order.id, action="rejection")


_outbox = OutboxRow.__table__
_attempts = DeliveryAttemptRow.__table__
_OUTBOX_FOR_RECORD = select(
    _outbox.c.id, _outbox.c.kind, _outbox.c.action, _outbox.c.order_id, _outbox.c.state, _outbox.c.claimed_by,
    _outbox.c.lease_until, _outbox.c.next_attempt_at, _outbox.c.last_error, _outbox.c.finished_at,
    _outbox.c.created_at,
).where(_outbox.c.id == bindparam("b_id"))
_OUTBOX_FOR_RECORD_LOCKED = _OUTBOX_FOR_RECORD.with_for_update()
_INSERT_ATTEMPT = insert(_attempts)
_COUNT_ATTEMPTS = select(func.count()).select_from(_attempts).where(_attempts.c.outbox_id == bindparam("b_id"))
_WRITE_BACK_OUTBOX = update(_outbox).where(_outbox.c.id == bindparam("b_id")).values(
    state=bindparam("b_state"), lease_until=bindparam("b_lease_until"),
    next_attempt_at=bindparam("b_next_attempt_at"), last_error=bindparam("b_last_error"),
    finished_at=bindparam("b_finished_at"), attempts=bindparam("b_attempts"), updated_at=bindparam("b_updated_at"))


def result_snapshot(revision: ResultRevisionRow, settings: Settings, base_url: str) -> ResultSnapshot:
    return ResultSnapshot(
        id=revision.id, revision=revision.revision, status=revision.status, score=revision.score,
        max_score=revision.max_score, result_url=revision.result_url, completed_at=revision.completed_at,
        attributes=revision.attributes, remote_fields=revision.remote_fields,
        attachments=[AttachmentSnapshot(name=a.name, content_type=a.content_type, sha256=a.sha256,
                                        size_bytes=a.size_bytes,
                                        url=attachment_link(settings, base_url, a.sha256, a.name))
                     for a in revision.attachments])
