"""``/ready`` turns unready when the database is gone and ready again when it is back, on a hub of its own.

SQLite: the folder holding the database is moved away (as an unmounted volume would) and moved back. (Not
the file alone: SQLite would open a new, empty database in its place, which is unready too, but then the
connections opened meanwhile keep that empty file after the real one is back.)
PostgreSQL: the hub's database stops accepting connections (``ALLOW CONNECTIONS false``) and its
sessions are ended, as a server restart or failover would; then it accepts them again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import BACKENDS, POSTGRES_URL
from tests.support import running_hub, temporary_postgres_database, wait_until

pytestmark = pytest.mark.live  # hubs of their own, served on loopback

FAST = {"worker_heartbeat_s": 0.2, "ready_heartbeat_max_age_s": 3.0}


def ready(base_url: str) -> httpx.Response:
    return httpx.get(f"{base_url}/ready", timeout=10)


@contextmanager
def postgres_admin() -> Iterator:
    assert POSTGRES_URL
    engine = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        yield engine
    finally:
        engine.dispose()


def _set_reachable(name: str, reachable: bool) -> None:
    with postgres_admin() as engine, engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if reachable else "false"}'))
        if not reachable:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )


@pytest.mark.parametrize("backend", BACKENDS)
def test_ready_follows_the_database(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        volume = tmp_path / "volume"
        with running_hub(f"sqlite:///{volume / 'hub.db'}", tmp_path, **FAST) as hub:
            wait_until(lambda: ready(hub.base_url).status_code == 200, what="/ready 200 at start")
            volume.rename(tmp_path / "volume.moved")
            try:
                gone = ready(hub.base_url)
                assert gone.status_code == 503 and gone.json()["status"] == "unready"
                assert not gone.json()["checks"]["database"]["ok"]
                assert "missing" in gone.json()["checks"]["database"]["error"]
                assert httpx.get(f"{hub.base_url}/health").status_code == 200  # the process is still up
            finally:
                (tmp_path / "volume.moved").rename(volume)
            back = wait_until(lambda: (r := ready(hub.base_url)).status_code == 200 and r, what="/ready 200 again")
            assert back.json()["checks"]["worker"]["ok"]
        return

    assert POSTGRES_URL
    with temporary_postgres_database(POSTGRES_URL) as url:
        name = make_url(url).database
        try:
            with running_hub(url, tmp_path, **FAST) as hub:
                wait_until(lambda: ready(hub.base_url).status_code == 200, what="/ready 200 at start")
                tenant = hub.new_tenant()
                tenant.publish("1001")
                order_id = tenant.create_order()
                _set_reachable(name, False)
                try:
                    gone = wait_until(
                        lambda: (r := ready(hub.base_url)).status_code == 503 and r, what="/ready 503 with no database"
                    )
                    checks = gone.json()["checks"]
                    assert not checks["database"]["ok"] and checks["database"]["error"]
                    assert not checks["migrations"]["ok"] and not checks["worker"]["ok"]
                    assert httpx.get(f"{hub.base_url}/health").status_code == 200
                    # the vendor API says so too: a retryable 503 in the Kombo envelope, never a 500
                    with tenant.client() as client:
                        for response in (
                            client.get("/assessment/orders"),
                            client.put(
                                f"/assessment/orders/{order_id}/result",
                                json={"status": "COMPLETED", "result_url": "https://vendor.example/r/1"},
                            ),
                        ):
                            assert response.status_code == 503, response.text
                            assert response.json()["error"]["code"] == "PLATFORM.UNKNOWN_ERROR"
                            assert response.headers["Retry-After"]
                finally:
                    _set_reachable(name, True)
                back = wait_until(
                    lambda: (r := ready(hub.base_url)).status_code == 200 and r, timeout=20, what="/ready 200 again"
                )
                assert back.json()["checks"]["worker"]["ok"]
        finally:
            _set_reachable(name, True)


def test_ready_needs_current_migrations_and_a_live_worker(tmp_path: Path) -> None:
    """A database one migration behind is unready until migrated; a hub whose only worker stopped is unready."""
    from assessment_hub.app import create_app
    from assessment_hub.config import Settings
    from assessment_hub.db.engine import build_engine
    from assessment_hub.db.migrate import upgrade
    from tests.support import serve_in_thread

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    settings = Settings(database_url=url, attachments_dir=tmp_path / "att", **FAST)
    engine = build_engine(settings)
    try:
        upgrade(engine, "0001")
        with serve_in_thread(create_app(settings, worker=True)) as base:
            behind = ready(base)
            assert behind.status_code == 503
            migrations = behind.json()["checks"]["migrations"]
            assert migrations["ok"] is False and migrations["current"] == ["0001"] and "0001" not in migrations["head"]
            upgrade(engine)
            wait_until(lambda: ready(base).status_code == 200, what="/ready 200 once migrated")
    finally:
        engine.dispose()

    # the worker stopped with the server above and removed its heartbeat: an API alone is not ready
    with serve_in_thread(create_app(settings, worker=False)) as base:
        unready = ready(base)
        assert unready.status_code == 503
        assert unready.json()["checks"]["worker"]["ok"] is False
        assert unready.json()["checks"]["worker"]["workers_alive"] == 0
        assert unready.json()["checks"]["database"]["ok"] and unready.json()["checks"]["migrations"]["ok"]
