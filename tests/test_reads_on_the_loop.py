"""Reads on the event loop (``db/reader.py``): on PostgreSQL bounded by ``READ_STATEMENT_TIMEOUT_MS``.

A read that outlasts the timeout is cancelled by the server and answered 429 with ``Retry-After`` (the
Kombo envelope, ``PLATFORM.CONCURRENCY_LIMIT_EXCEEDED`` as for a busy SQLite database), not a 500; the
loop then serves the next request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import text

from assessment_hub.app import create_app
from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from tests.support import key_settings


def test_a_read_past_the_statement_timeout_is_a_retryable_429(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the statement timeout is PostgreSQL's (SQLite reads are in-process)")
    engine = build_engine(Settings(database_url=database_url, **key_settings(database_url)))
    upgrade(engine)
    engine.dispose()
    app = create_app(
        Settings(
            database_url=database_url,
            attachments_dir=tmp_path / "att",
            read_statement_timeout_ms=200,
            **key_settings(database_url),
        )
    )

    @app.get("/__test/read")
    async def read(request: Request, seconds: float) -> dict[str, float]:
        def job(session):  # type: ignore[no-untyped-def]
            return session.execute(text("SELECT pg_sleep(:s), 1"), {"s": seconds}).one()[1]

        return {"value": await request.app.state.reader.run(job)}

    with TestClient(app, raise_server_exceptions=False) as client:
        slow = client.get("/__test/read", params={"seconds": 30})
        fast = client.get("/__test/read", params={"seconds": 0})
    assert slow.status_code == 429, slow.text
    assert slow.headers["Retry-After"] == "1"
    assert slow.json()["error"]["code"] == "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"
    assert "READ_STATEMENT_TIMEOUT_MS" in slow.json()["error"]["message"]
    assert (fast.status_code, fast.json()) == (200, {"value": 1})
