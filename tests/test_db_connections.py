"""PostgreSQL connections: the pool sizes as settings, the connection budget in docs/deployment.md, each
connection's ``application_name``, and what a request gets when no connection can be had.

The last one runs a hub (API only, in this process) as a role of its own with ``CONNECTION LIMIT`` and a pool
of 1 + 1: first every pooled connection is taken (the pool times out), then PostgreSQL refuses a new one
(the role's limit). Either way the vendor API answers 503 in the Kombo envelope with ``Retry-After``, an ATS
route the same in its own shape, the log says which it was without a traceback, and what was accepted
before, and what is sent again after, is stored once each.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from starlette.testclient import TestClient

from assessment_hub.app import create_app
from assessment_hub.assessment.models import ResultRevisionRow
from assessment_hub.concurrency.slots import build_slots
from assessment_hub.config import Settings
from assessment_hub.db.driver import conninfo
from assessment_hub.db.engine import (
    API,
    LOOP_MAX_OVERFLOW,
    LOOP_POOL_SIZE,
    WORKER,
    build_engine,
    build_loop_read_engine,
    database_url,
)
from assessment_hub.db.migrate import upgrade
from tests.conftest import POSTGRES_URL
from tests.support import (
    IN_PROCESS_URL,
    TEST_SECRET_KEY,
    Hub,
    InProcessTransport,
    hub_settings,
    temporary_postgres_database,
)

DEPLOYMENT = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="needs ASSESSMENT_HUB_TEST_POSTGRES_URL")
NOWHERE = "postgresql://hub@127.0.0.1:1/hub"
"""A PostgreSQL URL that is never connected to (engines connect lazily)."""


def test_pool_settings_reach_the_postgres_engines() -> None:
    settings = Settings(database_url=NOWHERE, secret_key=TEST_SECRET_KEY)
    engine, loop = build_engine(settings), build_loop_read_engine(settings)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (10, 5, 10.0)
        assert (loop.pool.size(), loop.pool._max_overflow) == (LOOP_POOL_SIZE, LOOP_MAX_OVERFLOW)
    finally:
        engine.dispose()
        loop.dispose()
    small = Settings(
        database_url=NOWHERE, secret_key=TEST_SECRET_KEY, db_pool_size=3, db_max_overflow=0, db_pool_timeout_s=1.5
    )
    engine = build_engine(small)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout) == (3, 0, 1.5)
    finally:
        engine.dispose()


def test_deployment_doc_states_the_default_connection_budget() -> None:
    """docs/deployment.md's "N × a + M × b" is what the defaults allow: an API process's main pool, the event
    loop's read pool and the write slots' connection; a worker's main pool and its LISTEN connection."""
    settings = Settings()
    main = settings.db_pool_size + settings.db_max_overflow
    api, worker = main + LOOP_POOL_SIZE + LOOP_MAX_OVERFLOW + 1, main + 1
    doc = " ".join(DEPLOYMENT.read_text().split())
    assert f"N × {api} + M × {worker}" in doc
    assert f"Per API process: up to {api}" in doc and f"per worker process: up to {worker}" in doc
    assert f"`serve` alone (1 + 1) needs {api + worker}" in doc
    assert f"`serve --workers 2` (2 + 1) {2 * api + worker}" in doc
    assert f"2 API + 2 workers {2 * api + 2 * worker}" in doc


@needs_postgres
def test_every_postgres_connection_names_its_process() -> None:
    """``application_name`` is ``assessment-hub-<role>:<pid>`` on the pooled connections, the event loop's
    reads, the write slots' connection and the worker's ``LISTEN`` connection (built from the engine's URL);
    an operator's own ``application_name`` in the URL wins. (The processes of ``serve`` are checked in
    pg_stat_activity by tests/test_cli.py.)"""
    assert POSTGRES_URL
    settings = Settings(database_url=POSTGRES_URL, secret_key=TEST_SECRET_KEY)
    pid = os.getpid()

    def name_of(connection_string: str) -> str:
        with psycopg.connect(connection_string) as conn:
            return conn.execute("SELECT current_setting('application_name')").fetchone()[0]

    for role, engine in (("cli", build_engine(settings)), ("worker", build_engine(settings, role=WORKER))):
        try:
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT current_setting('application_name')")) == f"assessment-hub-{role}:{pid}"
            assert name_of(conninfo(engine)) == f"assessment-hub-{role}:{pid}"  # the worker's LISTEN connection
        finally:
            engine.dispose()
    loop = build_loop_read_engine(settings, role=API)
    try:
        with loop.connect() as conn:
            assert conn.scalar(text("SELECT current_setting('application_name')")) == f"assessment-hub-api:{pid}"
    finally:
        loop.dispose()
    slots = build_slots(database_url(settings, API), 1)
    assert name_of(slots.conninfo) == f"assessment-hub-api:{pid}"

    own = make_url(settings.database_url).update_query_dict({"application_name": "hub-eu-1"})
    engine = build_engine(settings.model_copy(update={"database_url": own.render_as_string(hide_password=False)}))
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT current_setting('application_name')")) == "hub-eu-1"
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------- no free connection


@contextmanager
def limited_role_database(limit: int) -> Iterator[tuple[str, str]]:
    """A temporary database owned by a new role that may hold ``limit`` connections at once; yields (the role's
    URL, the admin's URL) of that database. Both are dropped afterwards."""
    assert POSTGRES_URL
    role = f"ahub_limited_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT {int(limit)}'))
        with temporary_postgres_database(POSTGRES_URL) as admin_url:
            name = make_url(admin_url).database
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" OWNER TO "{role}"'))
            yield make_url(admin_url).set(username=role, password=None).render_as_string(hide_password=False), admin_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


RESULT = {"status": "COMPLETED", "result_url": "https://vendor.example/r/1", "score": 7, "max_score": 10}


def assert_retryable_503(response: httpx.Response, kombo: bool = True) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    body = response.json()
    if kombo:
        assert set(body) == {"status", "error"} and set(body["error"]) == {"code", "title", "message", "log_url"}
        assert body["error"]["code"] == "PLATFORM.UNKNOWN_ERROR", body
        message = body["error"]["message"]
    else:
        message = body["message"]  # Greenhouse's own shape
    assert "no free database connection" in message and "nothing was changed" in message, message


@needs_postgres
def test_a_request_without_a_free_connection_gets_a_retryable_503(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    with limited_role_database(limit=4) as (role_url, admin_url):
        settings = hub_settings(role_url, tmp_path, db_pool_size=1, db_max_overflow=1, db_pool_timeout_s=0.5)
        migrating = build_engine(settings)
        upgrade(migrating)
        migrating.dispose()
        admin = build_engine(settings.model_copy(update={"database_url": admin_url}))  # the test's, not the role's
        app = create_app(settings, worker=False)
        try:
            with TestClient(app, base_url=IN_PROCESS_URL, raise_server_exceptions=False) as client:
                sessions = sessionmaker(admin, expire_on_commit=False)
                hub = Hub(IN_PROCESS_URL, settings, sessions, "postgres", InProcessTransport(client))
                tenant = hub.new_tenant()
                tenant.publish("1001")  # the role now holds: the main pool's kept connection, the write slots'
                order_id = tenant.create_order()
                assert tenant.put_result(order_id, RESULT).status_code == 200  # accepted before
                engine = app.state.engine
                ats_route = f"/connectors/greenhouse/{'x' * 24}/list_tests"

                # 1. every pooled connection taken (1 kept + 1 overflow): the pool times out after 0.5 s
                held = [engine.connect(), engine.connect()]
                with tenant.client() as api:
                    refused = api.put(f"/assessment/orders/{order_id}/result", json=RESULT)
                    assert_retryable_503(refused)
                    # docs/api.md: the result write's slot is taken in its own transaction: no count to give
                    assert "concurrency-remaining" not in refused.headers
                    packages = [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]
                    refused = api.put("/assessment/packages", json={"packages": packages})
                    assert_retryable_503(refused)
                    assert refused.headers["concurrency-remaining"] == str(settings.concurrency_limit - 1)
                with hub.http() as ats:
                    assert_retryable_503(ats.get(ats_route), kombo=False)

                # 2. a new connection refused by PostgreSQL (the role's CONNECTION LIMIT): answered at once
                held.pop().invalidate()  # closed: the pool may open one more, which the role's limit refuses
                filler = psycopg.connect(conninfo(engine))  # with the one held and the slots': the role's 4
                filler2 = psycopg.connect(conninfo(engine))
                try:
                    with tenant.client() as api:
                        assert_retryable_503(api.put(f"/assessment/orders/{order_id}/result", json=RESULT))
                    with hub.http() as ats:
                        assert_retryable_503(ats.get(ats_route), kombo=False)
                finally:
                    filler.close()
                    filler2.close()
                    held.pop().close()

                # connections free again: the same request is stored; the refused ones left nothing
                assert tenant.put_result(order_id, RESULT).status_code == 200
                with sessions() as session:
                    stored = session.scalar(
                        select(func.count())
                        .select_from(ResultRevisionRow)
                        .where(ResultRevisionRow.order_id == order_id)
                    )
                assert stored == 2
        finally:
            admin.dispose()
    logged = capfd.readouterr().err
    assert "Traceback" not in logged and "unhandled_error" not in logged and "connector_inbound_error" not in logged
    assert len(re.findall(r"database_out_of_connections", logged)) == 5, logged
