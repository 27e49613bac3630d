"""Connectors read the hub's database through ``ConnectorContext.read_sessions``: on SQLite a read-only
session begins DEFERRED, so a connector's read while it sends (Ashby's revision timestamps) never waits
for the write lock, which the API's writer holds while it commits a batch."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment import intake
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import record_result, set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.ashby.writeback import fold_timestamps, revision_timestamp
from assessment_hub.connectors.base import ConnectorContext
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.jobs import WritebackTarget
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
