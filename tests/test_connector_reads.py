"""Connectors read the hub's database while they send (Ashby's revision timestamps): through
``ConnectorContext.read_sessions``, which on SQLite begin DEFERRED and never wait for the write lock the
API's writer holds while it commits a batch; and when that read fails (no free connection), the attempt
is recorded as a failed one and retried (``delivery.sending``), not left claimed until its lease ends."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment import intake
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import record_result, set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.ashby.writeback import fold_timestamps, revision_timestamp
from assessment_hub.connectors.base import ConnectorContext
from assessment_hub.connectors.sandbox.orders import create_sandbox_order, fake_order_data
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.jobs import WritebackTarget
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.worker import DeliveryWorker


def test_a_connectors_read_during_a_send_does_not_wait_for_sqlites_write_lock(tmp_path: Path) -> None:
    """The worker claims a write-back and prepares it (the connector's context), then another connection
    takes SQLite's write lock (as the API's writer does while it commits): Ashby's timestamp read through
    that context still answers. Before, the context had only the worker's write sessions, whose
    ``BEGIN IMMEDIATE`` waited for the lock (here 0.3 s, by default 30 s) and then failed."""
    path = tmp_path / "hub.db"
    settings = Settings(database_url=f"sqlite:///{path}", attachments_dir=tmp_path / "att", sqlite_busy_timeout_ms=300)
    engine = build_engine(settings)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        integration = create_integration(
            session, "sandbox", "Org", settings={"writeback_url": "http://127.0.0.1:9/wb"}, cipher=settings.cipher
        )
        set_packages(session, integration.id, [PackageIn(id="p", name="Test", description="d", type="SKILLS_TEST")])
        order_id = create_sandbox_order(session, integration.id, "p", seed=1).id
        result = NormalizedResult("COMPLETED", "https://v.example/r", datetime.now(UTC), 1.0, 2.0, [], None)
        record_result(session, integration.id, order_id, result, [])
    with sessions() as session:
        expected = fold_timestamps(intake.result_times(session, order_id, up_to_revision=1))[-1]
    worker = DeliveryWorker(settings, sessions)
    try:
        targets = [job.target for job in worker._claim_jobs(10) if isinstance(job.target, WritebackTarget)]
        assert len(targets) == 1, targets
        context: ConnectorContext = targets[0].context
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held
        try:
            assert revision_timestamp(context, order_id, 1) == expected
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    finally:
        worker.http.close()
        engine.dispose()


def test_a_write_back_whose_connector_finds_no_database_connection_is_a_failed_attempt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A pool of one connection, held elsewhere while an Ashby write-back is sent: the connector's timestamp
    read times out. The attempt is a failed ``transient`` one whose message says the hub's database failed
    before anything was sent, the row is pending again with its next attempt due later, and the worker logs
    one warning for two such failures, no traceback. Before, the exception escaped the sender ("delivery N
    failed unexpectedly" and its traceback) and the row stayed in_flight, no attempt recorded, until its
    lease ran out (WORKER_LEASE_S, 120 s), then failed the same way again (a fresh-eyes trial, PostgreSQL
    with a role limited to 6 connections)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", attachments_dir=tmp_path / "att")
    engine = build_engine(settings, pool_size=1, max_overflow=0, pool_timeout=0.3)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        integration = create_integration(
            session,
            "ashby",
            "Org",
            settings={"api_key": "k", "api_base_url": "http://127.0.0.1:9"},
            cipher=settings.cipher,
        )
        set_packages(session, integration.id, [PackageIn(id="p", name="Test", description="d", type="SKILLS_TEST")])
        order_id = intake.create_order(session, integration.id, "p", fake_order_data(1), remote_data={}).id
        result = NormalizedResult("COMPLETED", "https://v.example/r", datetime.now(UTC), 1.0, 2.0, [], None)
        record_result(session, integration.id, order_id, result, [])
    worker = DeliveryWorker(settings, sessions)
    try:
        (job,) = [job for job in worker._claim_jobs(10) if isinstance(job.target, WritebackTarget)]
        with caplog.at_level(logging.WARNING, logger="assessment_hub.worker"), engine.connect():  # the one, held
            finished = worker.send(job)
            again = worker.send(job)
        assert finished is not None and again is not None
        assert (finished.outcome.status, finished.outcome.error_class) == ("failed", "transient")
        assert finished.outcome.error_message.startswith(
            "the hub's database could not be used before anything was sent (QueuePool limit"
        ), finished.outcome.error_message
        lines = [r for r in caplog.records if r.name == "assessment_hub.worker"]
        assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
        assert "write-backs fail on the hub's database" in lines[0].getMessage()
        worker.record_batch([finished])
        with sessions() as session:
            row = session.scalar(select(OutboxRow).where(OutboxRow.id == job.outbox_id))
            attempts = session.scalars(select(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id == job.outbox_id))
            assert row is not None and (row.state, row.attempts) == ("pending", 1)
            assert row.next_attempt_at > datetime.now(UTC)
            assert [(a.outcome, a.error_class) for a in attempts] == [("retry", "transient")]
    finally:
        worker.http.close()
        engine.dispose()
