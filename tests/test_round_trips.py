"""How much database traffic one result PUT costs (bench/NOTES.md, "Result write on PostgreSQL").

PostgreSQL: round trips counted on the wire with libpq's protocol trace of every connection the app's
engine hands out: each ``Sync`` (extended protocol, pipeline mode) or ``Query`` (simple protocol) message
is one the client waits for an answer to. SQLite: statements counted by ``sqlite3``'s trace callback on
every connection the engine hands out, so those sent through the driver (``assessment.sql_sqlite``) count
too (the write gate's ``BEGIN IMMEDIATE`` and the commit are not statements).
Measured after a warm-up PUT, so the cached API key and integration lookups are not counted. The
concurrency cap's slot (``concurrency.slots``: its own connection) is not the write's traffic and not
counted here.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg import pq
from sqlalchemy import event, select
from sqlalchemy.orm import sessionmaker

from assessment_hub.app import create_app
from assessment_hub.assessment.models import ResultRevisionRow
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db import engine as engine_module
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.notices import add_notice
from assessment_hub.integrations.service import create_api_key
from tests.conftest import POSTGRES_URL
from tests.support import key_settings, temporary_postgres_database

POSTGRES_ROUND_TRIPS = 2
"""One round trip plus the commit: ``assessment.sql_pg``."""
SQLITE_STATEMENTS = (9, 9)
"""Statements of the SQLite write before this change, measured at 65774e7: SAVEPOINT, the order, the
revision, the order's update, supersede, queue, notices, the notice marked delivered, RELEASE (a first
revision with a notice to take); a correction reads the latest revision instead and has no notice."""

RESULT = {"status": "COMPLETED", "result_url": "https://vendor.example/r", "completed_at": "2024-01-02T03:04:05Z"}


class _Traffic:
    """Counts the app engine's database traffic while ``counting`` is on."""

    def __init__(self, engine: Any) -> None:
        self.backend = engine.dialect.name
        self.statements: list[str] = []
        self.counting = False
        self._lock = threading.Lock()
        self._traces: list[tuple[Any, Any]] = []
        event.listen(engine, "checkout", self._trace)
        event.listen(engine, "checkin", self._untrace)

    def _statement(self, statement: str) -> None:
        if self.counting and not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            with self._lock:
                self.statements.append(statement)

    def _trace(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self.backend == "sqlite":
            dbapi_connection.set_trace_callback(self._statement)
            return
        if not self.counting:
            return
        handle = tempfile.TemporaryFile("w+")  # noqa: SIM115 - read and closed by round_trips()
        dbapi_connection.pgconn.trace(handle.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        with self._lock:
            self._traces.append((dbapi_connection, handle))

    def _untrace(self, dbapi_connection: Any, _record: Any) -> None:
        if self.backend == "sqlite":
            dbapi_connection.set_trace_callback(None)
            return
        with self._lock:
            for conn, _handle in self._traces:
                if conn is dbapi_connection:
                    conn.pgconn.untrace()

    @contextmanager
    def measure(self) -> Iterator[None]:
        self.statements, self._traces, self.counting = [], [], True
        try:
            yield
        finally:
            self.counting = False

    def round_trips(self) -> int:
        """Sync and Query messages sent, over every traced connection."""
        count = 0
        for _conn, handle in self._traces:
            with handle:
                handle.seek(0)
                for line in handle:
                    parts = line.split("\t")
                    if len(parts) > 2 and parts[0] == "F" and parts[2].strip() in ("Sync", "Query"):
                        count += 1
        self._traces = []
        return count

    def amount(self) -> int:
        return len(self.statements) if self.backend == "sqlite" else self.round_trips()


@pytest.fixture
def own_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own: the session's hub runs a delivery worker on ``database_url`` that would take
    the write-back this test expects to find pending."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'round-trips.db'}"
    else:
        assert POSTGRES_URL
        with temporary_postgres_database(POSTGRES_URL) as url:
            yield url


@pytest.fixture
def app_and_tenant(
    own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, _Traffic, Any, dict[str, str]]]:
    # A pooled connection idle for more than PING_AFTER_IDLE_S is pinged at checkout (db/engine.py): under
    # load none is; on a busy test machine one may be, which is not the write's traffic.
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 3600.0)
    settings = Settings(database_url=own_database, attachments_dir=tmp_path / "att", **key_settings(own_database))
    engine = build_engine(settings)
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(sessions) as session:
        key = create_api_key(session, "rt")
        integration = create_integration(session, "sandbox", "Round Trip Org")
    app = create_app(settings, worker=False)  # the write-backs stay queued, and the traffic is the API's
    with TestClient(app) as client:
        traffic = _Traffic(app.state.sessions.kw["bind"])
        headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration.id}
        published = client.put(
            "/v1/assessment/packages",
            headers=headers,
            json={"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]},
        )
        assert published.status_code == 200, published.text

        def new_order() -> str:
            with unit_of_work(sessions) as session:
                return create_sandbox_order(session, integration.id, "1001").id

        yield client, traffic, (sessions, new_order, integration.id), headers
    engine.dispose()


def _put(client: TestClient, headers: dict[str, str], order_id: str, body: dict[str, Any] = RESULT) -> Any:
    response = client.put(f"/v1/assessment/orders/{order_id}/result", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_result_put_costs_one_round_trip_plus_commit_on_postgres_and_no_more_statements_on_sqlite(
    app_and_tenant: Any,
) -> None:
    client, traffic, (sessions, new_order, integration_id), headers = app_and_tenant
    _put(client, headers, new_order())  # warm-up: the API key and integration lookups are now cached
    order_id = new_order()
    with unit_of_work(sessions) as session:  # a notice taken by the correction's PUT
        add_notice(session, integration_id, "the ATS said something", order_id=order_id)

    with traffic.measure():
        first = _put(client, headers, order_id)
    first_cost = traffic.amount()
    with traffic.measure():
        correction = _put(client, headers, order_id, {**RESULT, "score": 9})
    correction_cost = traffic.amount()

    assert [w["message"] for w in first["warnings"]] == ["the ATS said something"]
    assert correction["warnings"] == []  # shown once
    if traffic.backend == "sqlite":
        assert first_cost <= SQLITE_STATEMENTS[0] and correction_cost <= SQLITE_STATEMENTS[1], traffic.statements
    else:
        assert (first_cost, correction_cost) == (POSTGRES_ROUND_TRIPS, POSTGRES_ROUND_TRIPS)

    with sessions() as session:  # and it all was written: two revisions, each with its write-back
        revisions = session.execute(
            select(ResultRevisionRow.id, ResultRevisionRow.revision, ResultRevisionRow.score)
            .where(ResultRevisionRow.order_id == order_id)
            .order_by(ResultRevisionRow.revision)
        ).all()
        writebacks = session.execute(
            select(OutboxRow.revision_id, OutboxRow.state).where(OutboxRow.order_id == order_id).order_by(OutboxRow.id)
        ).all()
    assert [(r.revision, r.score) for r in revisions] == [(1, None), (2, 9.0)]
    assert [w.revision_id for w in writebacks] == [r.id for r in revisions]
    # the first was superseded by the correction, unless a worker (of another test's hub on this database)
    # had taken it already
    assert writebacks[0].state in ("superseded", "in_flight", "succeeded"), writebacks


def test_a_refused_result_writes_nothing(app_and_tenant: Any) -> None:
    client, _traffic, (sessions, new_order, _integration_id), headers = app_and_tenant
    order_id = new_order()
    _put(client, headers, order_id)
    refused = client.put(
        f"/v1/assessment/orders/{order_id}/result", headers=headers, json={**RESULT, "status": "CANCELLED"}
    )
    assert refused.status_code == 400, refused.text
    unknown = client.put("/v1/assessment/orders/NoSuchOrder000000000000/result", headers=headers, json=RESULT)
    assert unknown.status_code == 404, unknown.text
    _put(client, headers, order_id, {**RESULT, "score": 3})  # the connection is usable again afterwards
    with sessions() as session:
        revisions = session.scalars(
            select(ResultRevisionRow.revision).where(ResultRevisionRow.order_id == order_id)
        ).all()
    assert sorted(revisions) == [1, 2]


def test_a_pooled_connection_that_died_while_idle_is_replaced_at_checkout(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ping that replaced ``pool_pre_ping``: a connection idle longer than ``PING_AFTER_IDLE_S`` is
    pinged; one the server dropped meanwhile is replaced without the caller seeing an error."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the idle ping is PostgreSQL's")
    import psycopg
    from sqlalchemy import text

    from assessment_hub.db.driver import conninfo

    engine = build_engine(Settings(database_url=database_url, **key_settings(database_url)))
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(conninfo(engine), autocommit=True) as other:  # the server drops it while idle
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
