"""Typed states and records: the stored strings are the ones the database has always held, and the snapshot
the PUT-time warnings read is built by the same builder, from the same revision, as the one the worker sends.

Drives the services and the worker's preparing room directly on a database of its own (SQLite, and
PostgreSQL when ``ASSESSMENT_HUB_TEST_POSTGRES_URL`` is set); no server runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.assessment.attachments import StoredAttachment
from assessment_hub.assessment.records import RevisionRecord
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import record_result, set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.connectors.snapshots import result_snapshot
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.jobs import WritebackTarget
from assessment_hub.delivery.service import cancel_delivery
from assessment_hub.delivery.states import AttemptOutcome, DeliveryState, SendStatus
from assessment_hub.delivery.worker import DeliveryWorker
from assessment_hub.kit.links import check_attachment_link
from assessment_hub.kit.states import OrderStatus, ResultStatus
from tests.support import key_settings, temporary_postgres_database

POSTGRES_URL = os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite"] + (["postgres"] if POSTGRES_URL else []))
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    def run(url: str) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
        settings = Settings(
            database_url=url,
            attachments_dir=tmp_path / "att",
            public_base_url="https://hub.example",
            **key_settings(url),
        )
        engine = build_engine(settings)
        upgrade(engine)
        try:
            yield settings, sessionmaker(engine, expire_on_commit=False)
        finally:
            engine.dispose()

    if request.param == "sqlite":
        yield from run(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        assert POSTGRES_URL
        with temporary_postgres_database(POSTGRES_URL) as url:
            yield from run(url)


def test_the_stored_strings_are_unchanged() -> None:
    """The values the database holds (no migration came with the enums); renaming one would orphan rows."""
    assert [s.value for s in OrderStatus] == ["OPEN", "COMPLETED", "CANCELLED", "REJECTED"]
    assert [s.value for s in ResultStatus] == ["OPEN", "COMPLETED", "CANCELLED"]
    assert [s.value for s in DeliveryState] == ["pending", "in_flight", "succeeded", "dead", "cancelled", "superseded"]
    assert {AttemptOutcome.late(s) for s in SendStatus} == {
        "late-succeeded",
        "late-rejected",
        "late-failed",
        "late-superseded",
    }
    assert all(len(o.value) <= 16 for o in AttemptOutcome)  # delivery_attempts.outcome is String(16)


def _order_with_result(
    sessions: sessionmaker[Session], attachments: list[StoredAttachment]
) -> tuple[str, RevisionRecord]:
    with unit_of_work(sessions) as session:
        integration = create_integration(session, "sandbox", "States Org")
        set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
        order_id = create_sandbox_order(session, integration.id, "1001", seed=1).id
    result = NormalizedResult(
        status=ResultStatus.COMPLETED,
        result_url="https://vendor.example/r/1",
        completed_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        score=7.0,
        max_score=10.0,
        attributes=[{"type": "TEXT", "label": "Fit", "value": "Good"}],
        remote_fields={"k": "v"},
    )
    with unit_of_work(sessions) as session:
        record = record_result(session, integration.id, order_id, result, attachments)
    return order_id, record


def test_enums_are_stored_as_their_plain_strings(db: tuple[Settings, sessionmaker[Session]]) -> None:
    _settings, sessions = db
    order_id, _record = _order_with_result(sessions, [])
    with sessions() as session:
        order_status = session.execute(text("SELECT status FROM orders WHERE id = :id"), {"id": order_id}).scalar_one()
        revision_status = session.execute(
            text("SELECT status FROM result_revisions WHERE order_id = :id"), {"id": order_id}
        ).scalar_one()
        [(outbox_id, state)] = session.execute(text("SELECT id, state FROM outbox")).tuples().all()
    assert (type(order_status), order_status) == (str, "COMPLETED")
    assert (type(revision_status), revision_status) == (str, "COMPLETED")
    assert (type(state), state) == (str, "pending")  # the queued write-back (no webhook endpoint exists)
    with unit_of_work(sessions) as session:
        cancel_delivery(session, outbox_id)
    with sessions() as session:
        state = session.execute(text("SELECT state FROM outbox WHERE id = :id"), {"id": outbox_id}).scalar_one()
    assert (type(state), state) == (str, "cancelled")


def test_the_put_time_snapshot_and_the_sent_one_hold_the_same_revision(
    db: tuple[Settings, sessionmaker[Session]],
) -> None:
    """``record_result``'s record (PUT-time warnings) and the stored rows the worker reloads give the same
    snapshot through the one builder; only the attachment links differ, each signed when it is built."""
    settings, sessions = db
    attachments = [StoredAttachment("r.pdf", "application/pdf", "ab" * 32, 3, None)]
    order_id, record = _order_with_result(sessions, attachments)
    at_put = result_snapshot(record, settings, "https://hub.example")

    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    try:
        [job] = worker.prepare(worker._claim_rows(1))
    finally:
        worker.http.close()
    assert isinstance(job.target, WritebackTarget) and job.target.order.id == order_id
    sent = job.target.result
    assert sent is not None
    assert replace(sent, attachments=[]) == replace(at_put, attachments=[])
    for put_link, sent_link in zip(at_put.attachments, sent.attachments, strict=True):
        assert replace(put_link, url="") == replace(sent_link, url="")
        for link in (put_link.url, sent_link.url):
            parts = urlsplit(link)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"https://hub.example/attachments/{'ab' * 32}"
            assert check_attachment_link(settings, "ab" * 32, query["name"], int(query["expires"]), query["signature"])
