"""Fixes found by profiling the benchmark (bench/RESULTS.md): SQLite writers queue in-process,
a client that hangs up mid-body is not an unexpected error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.requests import ClientDisconnect

from assessment_hub.app import create_app
from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine


def _engine(tmp_path: Path, busy_ms: int):
    engine = build_engine(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", sqlite_busy_timeout_ms=busy_ms))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    return engine


def test_sqlite_writers_in_one_process_queue_instead_of_failing(tmp_path: Path) -> None:
    """With a busy timeout far shorter than the queue, every writer still gets its turn."""
    engine = _engine(tmp_path, busy_ms=2000)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(25):
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": n * 100 + i})
                    time.sleep(0.001)  # hold the write lock a little
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 200
    # the lock is free again: a rollback and a failed statement release it too
    with pytest.raises(OperationalError):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO nope VALUES (1)"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()


def test_second_write_transaction_in_the_same_thread_fails_as_before(tmp_path: Path) -> None:
    """No deadlock: past the busy timeout the queue steps aside and SQLite answers 'locked'."""
    engine = _engine(tmp_path, busy_ms=200)
    with engine.begin() as first:
        first.execute(text("INSERT INTO t VALUES (1)"))
        started = time.monotonic()
        with pytest.raises(OperationalError):
            with engine.begin() as second:
                second.execute(text("INSERT INTO t VALUES (2)"))
        assert time.monotonic() - started < 10
    with engine.begin() as conn:  # and everything is usable afterwards
        conn.execute(text("INSERT INTO t VALUES (3)"))
    engine.dispose()


def test_client_disconnect_is_not_logged_as_an_unexpected_error(tmp_path: Path, capsys, caplog) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", attachments_dir=tmp_path / "att"))

    @app.get("/__test/disconnect")
    def hang_up() -> None:
        raise ClientDisconnect()

    with TestClient(app) as client:
        response = client.get("/__test/disconnect")
    assert response.status_code == 400
    out = capsys.readouterr()
    assert "unhandled_error" not in out.out + out.err + caplog.text


def test_logged_exceptions_render_as_plain_text(capsys) -> None:
    # Rich tracebacks took about a second each on the event loop and stalled the server under load.
    import structlog

    from assessment_hub.kit.logging import configure_logging

    configure_logging()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger("t").exception("failed")
    out = capsys.readouterr().out
    assert "Traceback (most recent call last)" in out and "RuntimeError: boom" in out
    assert "╭" not in out and "│" not in out
