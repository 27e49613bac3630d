"""The delivery worker's batches: claims loaded set-based, attempts recorded many to a transaction, rows
held but not sent given back, and the sandbox ATS's group-committed write-backs.

Each test drives a ``DeliveryWorker`` directly on a database of its own (SQLite, and PostgreSQL when
``ASSESSMENT_HUB_TEST_POSTGRES_URL`` is set); no server runs, so no other worker takes the rows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.assessment.models import OrderRow
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import record_result, set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.connector import SandboxConnector
from assessment_hub.connectors.sandbox.models import SandboxWritebackRow
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.connectors.sandbox.service import set_outage
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery import claiming, sql_pg
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.senders import Outcome
from assessment_hub.delivery.worker import DeliveryWorker, Finished, Job
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.timestamps import utcnow
from tests.support import key_settings, temporary_postgres_database

POSTGRES_URL = os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite"] + (["postgres"] if POSTGRES_URL else []))
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    def run(url: str) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
        settings = Settings(
            database_url=url,
            **key_settings(url),
            attachments_dir=tmp_path / "att",
            worker_poll_s=0.05,
            delivery_timeout_s=2,
            worker_lease_s=30,
            retry_base_s=60,
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


def _result() -> NormalizedResult:
    return NormalizedResult(
        status="COMPLETED",
        result_url="https://vendor.example/r/1",
        completed_at=datetime.now(UTC),
        score=7.0,
        max_score=10.0,
        attributes=[{"field": "a", "value": "b"}],
        remote_fields=None,
    )


def _orders_with_results(sessions: sessionmaker[Session], n: int, results: int = 1) -> tuple[str, list[str]]:
    """A sandbox integration and ``n`` orders with ``results`` results each; only write-backs are queued
    (the order-received and integration-created webhooks are cancelled)."""
    with unit_of_work(sessions) as session:
        integration = create_integration(session, "sandbox", "Batch Org")
        set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
    with unit_of_work(sessions) as session:
        orders = [create_sandbox_order(session, integration.id, "1001", seed=i).id for i in range(n)]
        session.execute(update(OutboxRow).where(OutboxRow.kind == "webhook").values(state="cancelled"))
    for _ in range(results):
        with unit_of_work(sessions) as session:
            for order_id in orders:
                record_result(session, integration.id, order_id, _result(), [])
    return integration.id, orders


def _rows(sessions: sessionmaker[Session]) -> list[OutboxRow]:
    with sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "writeback").order_by(OutboxRow.id)))


def _attempts(sessions: sessionmaker[Session]) -> list[DeliveryAttemptRow]:
    with sessions() as session:
        return list(session.scalars(select(DeliveryAttemptRow).order_by(DeliveryAttemptRow.id)))


def test_one_batch_records_every_attempt_and_moves_each_row_on(db: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = db
    _orders_with_results(sessions, 4)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    ids = worker.claim(10)
    assert len(ids) == 4
    other = DeliveryWorker(settings, sessions, worker_id="w2")
    with unit_of_work(sessions) as session:  # the last row's lease was lost and another worker holds it now
        session.execute(update(OutboxRow).where(OutboxRow.id == ids[3]).values(claimed_by=other.worker_id))
    started = utcnow()
    worker.record_batch(
        [
            Finished(ids[0], Outcome("succeeded", 5), started, utcnow()),
            Finished(
                ids[1],
                Outcome("failed", 5, http_status=503, error_class="transient", error_message="503"),
                started,
                utcnow(),
            ),
            Finished(
                ids[2],
                Outcome("failed", 5, http_status=400, error_class="bad_input", error_message="no"),
                started,
                utcnow(),
            ),
            Finished(ids[3], Outcome("succeeded", 5), started, utcnow()),
        ]
    )
    rows = {row.id: row for row in _rows(sessions)}
    assert [rows[i].state for i in ids] == ["succeeded", "pending", "dead", "in_flight"]
    assert [rows[i].attempts for i in ids] == [1, 1, 1, 1]
    assert rows[ids[1]].next_attempt_at > utcnow() + timedelta(seconds=30)  # retry_base_s 60, ±20 %
    assert rows[ids[3]].claimed_by == "w2"  # untouched: it is the other worker's now
    outcomes = {a.outbox_id: a.outcome for a in _attempts(sessions)}
    assert [outcomes[i] for i in ids] == ["succeeded", "retry", "dead", "late-succeeded"]


def test_a_batch_of_successes_records_the_same_on_both_backends(db: tuple[Settings, sessionmaker[Session]]) -> None:
    """All successes: PostgreSQL records them in two round trips (``delivery.sql_pg.record_successes``), SQLite
    through the general path; the rows and attempts are the same. An INVALID integration's success (which
    makes it ACTIVE again, with its webhook) takes the general path on both."""
    settings, sessions = db
    integration_id, _orders = _orders_with_results(sessions, 3)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    ids = worker.claim(10)
    assert len(ids) == 3
    with unit_of_work(sessions) as session:  # the last row is another worker's now
        session.execute(update(OutboxRow).where(OutboxRow.id == ids[2]).values(claimed_by="w2"))
    started = utcnow()
    sent = Outcome("succeeded", 7, http_status=200, response_excerpt="{}", request_text="POST https://ats/x")
    worker.record_batch([Finished(i, sent, started, utcnow()) for i in ids])
    rows = {row.id: row for row in _rows(sessions)}
    assert [(rows[i].state, rows[i].attempts, rows[i].claimed_by) for i in ids] == [
        ("succeeded", 1, "w1"),
        ("succeeded", 1, "w1"),
        ("in_flight", 1, "w2"),
    ]
    assert all(rows[i].lease_until is None and rows[i].finished_at is not None for i in ids[:2])
    attempts = _attempts(sessions)
    assert [(a.outbox_id, a.outcome, a.worker_id, a.duration_ms, a.http_status) for a in attempts] == [
        (ids[0], "succeeded", "w1", 7, 200),
        (ids[1], "succeeded", "w1", 7, 200),
        (ids[2], "late-succeeded", "w1", 7, 200),
    ]
    assert {(a.response_excerpt, a.request_text) for a in attempts} == {("{}", "POST https://ats/x")}
    assert attempts[0].started_at == started

    # an INVALID integration: its write-back's success makes it ACTIVE again
    with unit_of_work(sessions) as session:
        session.execute(update(IntegrationRow).where(IntegrationRow.id == integration_id).values(status="INVALID"))
        session.execute(update(OutboxRow).where(OutboxRow.id == ids[2]).values(claimed_by="w1", state="in_flight"))
    worker.record_batch([Finished(ids[2], sent, started, utcnow())])
    with sessions() as session:
        assert session.get(IntegrationRow, integration_id).status == "ACTIVE"
        assert session.get(OutboxRow, ids[2]).attempts == 2


def test_two_attempts_on_one_row_in_one_batch_are_both_counted(db: tuple[Settings, sessionmaker[Session]]) -> None:
    """A row whose lease expired and that the same worker claimed again can have two attempts in one batch:
    the retry policy must count the earlier one."""
    settings, sessions = db
    _orders_with_results(sessions, 1)
    worker = DeliveryWorker(settings.model_copy(update={"retry_max_attempts": 2}), sessions, worker_id="w1")
    [outbox_id] = worker.claim(1)
    failure = Outcome("failed", 5, http_status=503, error_class="transient", error_message="503")
    with unit_of_work(sessions) as session:  # claimed again: pending then in flight once more
        session.execute(update(OutboxRow).where(OutboxRow.id == outbox_id).values(state="in_flight"))
    started = utcnow()
    worker.record_batch(
        [Finished(outbox_id, failure, started, utcnow()), Finished(outbox_id, failure, started, utcnow())]
    )
    [row] = _rows(sessions)
    # the first moved the row to pending (retry), so the second is late; both are attempts of the row
    assert row.attempts == 2 and row.state == "pending"
    assert [a.outcome for a in _attempts(sessions)] == ["retry", "late-failed"]


def test_a_held_row_whose_lease_cannot_cover_a_send_is_given_back_unsent(
    db: tuple[Settings, sessionmaker[Session]],
) -> None:
    settings, sessions = db
    _orders_with_results(sessions, 1)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    [job] = worker.prepare(worker._claim_rows(1))
    job.lease_until = utcnow() + timedelta(seconds=settings.delivery_timeout_s / 2)  # it waited too long
    assert worker.send(job) is None
    worker.release([job.outbox_id])
    [row] = _rows(sessions)
    assert row.state == "pending" and row.claimed_by is None and row.lease_until is None
    assert _attempts(sessions) == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SandboxWritebackRow)) == 0  # never sent
    worker.run_until_idle()
    assert [r.state for r in _rows(sessions)] == ["succeeded"]


def test_rows_held_when_the_worker_stops_are_given_back(db: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = db
    _orders_with_results(sessions, 3)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    jobs = worker.prepare(worker._claim_rows(3))
    stop = threading.Event()
    stop.set()
    worker._stopping = stop
    for job in jobs:
        worker._in_flight += 1
        worker._send_safely(job)
    assert [(r.state, r.claimed_by) for r in _rows(sessions)] == [("pending", None)] * 3
    assert _attempts(sessions) == []


def test_run_records_every_attempt_before_it_returns(db: tuple[Settings, sessionmaker[Session]]) -> None:
    """The recorder is drained when the worker stops: nothing sent is left unrecorded."""
    settings, sessions = db
    _integration, orders = _orders_with_results(sessions, 30)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while datetime.now(UTC) < deadline:
            with sessions() as session:
                if session.scalar(select(func.count()).select_from(SandboxWritebackRow)) == len(orders):
                    break
            stop.wait(0.02)
        stop.set()
        worker.wake.set()
    finally:
        stop.set()
        thread.join(timeout=30)
    rows = _rows(sessions)
    assert [r.state for r in rows] == ["succeeded"] * len(orders)
    assert [r.attempts for r in rows] == [1] * len(orders)
    assert len(_attempts(sessions)) == len(orders)


def test_prepare_loads_a_claim_set_based_and_keeps_each_rows_fate(db: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = db
    integration_id, orders = _orders_with_results(sessions, 3)
    with unit_of_work(sessions) as session:
        integration2 = create_integration(session, "sandbox", "Deleted Org")
        set_packages(session, integration2.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
        gone_order = create_sandbox_order(session, integration2.id, "1001", seed=9).id
        session.execute(update(OutboxRow).where(OutboxRow.kind == "webhook").values(state="cancelled"))
    with unit_of_work(sessions) as session:
        record_result(session, integration2.id, gone_order, _result(), [])
        session.execute(update(IntegrationRow).where(IntegrationRow.id == integration2.id).values(deleted_at=utcnow()))
    rows = _rows(sessions)
    # an operator retried an old write-back of orders[0] after a newer one was queued and delivered
    with unit_of_work(sessions) as session:
        record_result(session, integration_id, orders[0], _result(), [])
        session.execute(update(OutboxRow).where(OutboxRow.id == rows[0].id).values(state="pending"))
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.order_id == orders[0], OutboxRow.id != rows[0].id)
            .values(state="succeeded")
        )
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    jobs = {job.outbox_id: job for job in worker.prepare(worker._claim_rows(10))}
    assert set(jobs) == {rows[0].id, rows[1].id, rows[2].id, rows[3].id}
    assert jobs[rows[0].id].superseded
    assert not jobs[rows[1].id].superseded and jobs[rows[1].id].target[0] == "sandbox"
    tool, context, order, result = jobs[rows[2].id].target
    assert order.id == orders[2] and result is not None and result.revision == 1 and context.settings == {}
    assert jobs[rows[3].id].target is None  # its integration was deleted: bad_input
    for job in jobs.values():
        finished = worker.send(job)
        assert finished is not None
        worker.record_batch([finished])
    states = {row.id: row.state for row in _rows(sessions)}
    assert [states[r.id] for r in rows] == ["superseded", "succeeded", "succeeded", "dead"]


def test_changed_integration_settings_are_used_at_once(db: tuple[Settings, sessionmaker[Session]]) -> None:
    """Decrypted settings are kept by their ciphertext, which is read with every claim."""
    settings, sessions = db
    integration_id, _orders = _orders_with_results(sessions, 2)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    [first] = worker.prepare(worker._claim_rows(1))
    assert first.target[1].settings == {}
    with unit_of_work(sessions) as session:
        session.execute(
            update(IntegrationRow)
            .where(IntegrationRow.id == integration_id)
            .values(settings_encrypted=settings.cipher.encrypt_json({"writeback_url": "http://127.0.0.1:9/wb"}))
        )
    [second] = worker.prepare(worker._claim_rows(1))
    assert second.target[1].settings == {"writeback_url": "http://127.0.0.1:9/wb"}


def test_outage_switch_applies_to_the_next_write_back(db: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = db
    integration_id, orders = _orders_with_results(sessions, 2)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    [job] = worker.prepare(worker._claim_rows(1))
    with unit_of_work(sessions) as session:
        set_outage(session, integration_id, "503")
    finished = worker.send(job)
    assert finished is not None and finished.outcome.http_status == 503


def test_sandbox_group_commit_counts_repeats_and_isolates_a_failing_write_back(
    db: tuple[Settings, sessionmaker[Session]],
) -> None:
    settings, sessions = db
    integration_id, orders = _orders_with_results(sessions, 3)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    jobs = worker.prepare(worker._claim_rows(3))
    with unit_of_work(sessions) as session:  # an order deleted while its write-back is being sent
        session.execute(delete(OrderRow).where(OrderRow.id == orders[2]))
    errors: list[BaseException] = []

    def deliver(job: Job) -> None:
        tool, context, order, result = job.target
        try:
            SandboxConnector(context).write_result(order, result)
        except BaseException as exc:
            errors.append(exc)

    # each of the first two write-backs four times at once, and the third once
    threads = [threading.Thread(target=deliver, args=(job,)) for job in jobs[:2] * 4 + jobs[2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with sessions() as session:
        stored = {row.order_id: row.deliveries for row in session.scalars(select(SandboxWritebackRow))}
    assert stored == {orders[0]: 4, orders[1]: 4}
    assert errors == []  # as before: a write-back for a deleted order is dropped by the sandbox ATS


def test_rows_claimed_but_not_prepared_are_given_back(
    db: tuple[Settings, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, sessions = db
    _orders_with_results(sessions, 2)
    worker = DeliveryWorker(settings, sessions, worker_id="w1")

    def broken(_rows: object) -> list[Job]:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(worker, "prepare", broken)
    with pytest.raises(RuntimeError):
        worker._claim_jobs(10)
    assert [(r.state, r.claimed_by) for r in _rows(sessions)] == [("pending", None)] * 2


def _queue_webhooks(sessions: sessionmaker[Session], n: int, due: datetime) -> None:
    """``n`` pending webhook rows, due one millisecond apart from ``due`` on (no endpoint: only claimed here)."""
    with unit_of_work(sessions) as session:
        session.execute(
            insert(OutboxRow),
            [
                dict(
                    kind="webhook",
                    action="assessment:order-received",
                    body="{}",
                    state="pending",
                    next_attempt_at=due + timedelta(milliseconds=i),
                    attempts=0,
                    created_at=due,
                    updated_at=due,
                )
                for i in range(n)
            ],
        )


def _claim_work(sessions: sessionmaker[Session], limit: int) -> int:
    """What the claim statement costs the database, in units that do not depend on the machine: SQLite's
    virtual-machine steps (in hundreds, ``set_progress_handler``), PostgreSQL's rows produced by every node
    of its plan (``EXPLAIN ANALYZE``, rolled back: nothing is claimed)."""
    engine = sessions.kw["bind"]
    now = utcnow()
    if engine.dialect.name == "sqlite":
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        with engine.connect() as conn:
            sqlite = conn.connection.driver_connection
            sqlite.set_progress_handler(count, 100)
            conn.execute(claiming._CLAIM, {"b_now": now, "b_limit": limit}).all()
            sqlite.set_progress_handler(None, 0)
        return steps
    naive = now.replace(tzinfo=None)
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("ANALYZE outbox")  # the statistics autovacuum keeps: the plan of a live hub
        [[plan]] = raw.driver_connection.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + sql_pg._CLAIM,
            {"now": naive, "limit": limit, "worker": "w", "lease_until": naive},
        ).fetchall()
        raw.driver_connection.rollback()
    finally:
        raw.close()

    def rows(node: dict) -> int:
        return node["Actual Rows"] * node["Actual Loops"] + sum(rows(child) for child in node.get("Plans", ()))

    return rows(plan[0]["Plan"])


def test_a_claim_reads_as_many_rows_whatever_the_backlog(db: tuple[Settings, sessionmaker[Session]]) -> None:
    """The claim reads the oldest due rows in index order and stops at its limit: its cost does not grow
    with the rows waiting behind them. Before, one ``pending OR in_flight`` query read and sorted every due
    row (a 6,000-row backlog: 2.2 ms per claim on SQLite, 7.8 ms on PostgreSQL, so a worker that fell
    behind fell further behind)."""
    settings, sessions = db
    _queue_webhooks(sessions, 40, utcnow() - timedelta(hours=1))
    small = _claim_work(sessions, 8)
    _queue_webhooks(sessions, 4000, utcnow() - timedelta(minutes=30))
    large = _claim_work(sessions, 8)
    assert large < 3 * small, (small, large)


def test_a_claim_takes_the_oldest_due_of_pending_and_expired_rows_together(
    db: tuple[Settings, sessionmaker[Session]],
) -> None:
    """The two legs (pending and due; in flight with an expired lease) are merged oldest due first."""
    settings, sessions = db
    start = utcnow() - timedelta(hours=1)
    _queue_webhooks(sessions, 6, start)
    with sessions() as session:
        ids = list(session.scalars(select(OutboxRow.id).order_by(OutboxRow.next_attempt_at)))
    with unit_of_work(sessions) as session:  # rows 1 and 4 were claimed by a worker that died
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_([ids[1], ids[4]]))
            .values(state="in_flight", claimed_by="dead", lease_until=start)
        )
    worker = DeliveryWorker(settings, sessions, worker_id="w1")
    assert worker.claim(3) == ids[:3]
    assert worker.claim(10) == ids[3:]
    assert worker.claim(10) == []
