"""The write path's machinery: the SQLite write gate, the group-committing writer, the lookup caches."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.orm import registry, sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.db.writer import Writer
from assessment_hub.integrations.lookups import TtlCache
from assessment_hub.integrations.models import ApiKeyRow
from assessment_hub.kit.timestamps import utcnow
from tests.support import Tenant, in_process_hub
from tests.test_admin_api import admin
from tests.test_errors import check

_meta = MetaData()
_items = Table("items", _meta, Column("id", Integer, primary_key=True), Column("name", String(40)))


@pytest.fixture
def engine(database_url: str, tmp_path: Path):
    """A scratch table ``items``: in a fresh SQLite file, or in the suite's PostgreSQL database."""
    url = f"sqlite:///{tmp_path / 'w.db'}" if database_url.startswith("sqlite") else database_url
    engine = build_engine(Settings(database_url=url, sqlite_busy_timeout_ms=3000))
    _meta.create_all(engine)
    yield engine
    _meta.drop_all(engine)
    engine.dispose()


def _names(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.scalars(select(_items.c.name)))


# ------------------------------------------------------------------ writer


def test_writer_commits_each_job_and_rolls_back_only_the_failing_one(engine) -> None:
    writer = Writer(sessionmaker(engine))

    def job(i: int):
        def run(session):
            session.connection().execute(insert(_items), {"id": i, "name": f"n{i}"})
            if i % 5 == 0:
                raise ValueError(f"job {i} refuses")
            return i

        return run

    async def main() -> list[object]:
        return await asyncio.gather(*(writer.run(job(i)) for i in range(1, 41)), return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
    finally:
        writer.close()
    for i, outcome in zip(range(1, 41), outcomes, strict=False):
        if i % 5 == 0:
            assert isinstance(outcome, ValueError) and str(outcome) == f"job {i} refuses"
        else:
            assert outcome == i
    assert _names(engine) == sorted(f"n{i}" for i in range(1, 41) if i % 5)


class _Item:
    def __init__(self, id: int, name: str) -> None:
        self.id, self.name = id, name


registry().map_imperatively(_Item, _items)


def test_writer_recovers_when_a_failed_flush_breaks_the_batch(engine) -> None:
    """An ORM flush that fails (duplicate key) leaves the shared transaction unusable: the writer runs the
    batch's jobs again one by one, so only the bad job fails, and nothing of it is written."""
    writer = Writer(sessionmaker(engine))
    with engine.begin() as conn:
        conn.execute(insert(_items), {"id": 7, "name": "existing"})

    def add(i: int):
        return lambda session: session.add(_Item(i, f"n{i}")) or i

    async def main() -> list[object]:
        return await asyncio.gather(*(writer.run(add(i)) for i in (1, 2, 7, 3, 4)), return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
    finally:
        writer.close()
    assert outcomes[:2] == [1, 2] and outcomes[3:] == [3, 4]
    assert "UNIQUE" in str(outcomes[2]).upper() or "duplicate" in str(outcomes[2])
    assert _names(engine) == ["existing", "n1", "n2", "n3", "n4"]


def test_writer_answers_only_after_the_commit(engine) -> None:
    """What a job wrote is visible to another connection when ``run`` returns (durable before the 200)."""
    writer = Writer(sessionmaker(engine))

    async def main() -> None:
        for i in range(1, 21):
            await writer.run(lambda session, i=i: session.connection().execute(insert(_items), {"id": i, "name": "x"}))
            with engine.connect() as conn:  # a new connection: sees only committed rows
                assert conn.scalar(select(_items.c.id).where(_items.c.id == i)) == i

    try:
        asyncio.run(main())
    finally:
        writer.close()


# ------------------------------------------------------------------ SQLite write gate


def _sqlite_only(engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the write gate is SQLite's")


def test_gate_hands_the_lock_to_a_waiting_writer_of_this_process(engine) -> None:
    _sqlite_only(engine)
    sessions = sessionmaker(engine)
    holder = sessions()
    holder.connection().execute(insert(_items), {"id": 1, "name": "holder"})  # holds the write transaction
    done = threading.Event()

    def second() -> None:
        with sessions() as session, session.begin():
            session.connection().execute(insert(_items), {"id": 2, "name": "second"})
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not done.wait(0.3), "a second writer must wait while the first transaction is open"
    holder.commit()
    holder.close()
    assert done.wait(5)
    thread.join()
    assert _names(engine) == ["holder", "second"]


@pytest.mark.subprocess
def test_gate_waits_for_another_process_and_gives_up_after_the_busy_timeout(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    engine = build_engine(Settings(database_url=f"sqlite:///{db}", sqlite_busy_timeout_ms=400))
    _meta.create_all(engine)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, os, sys, time\n"
                f"fd = os.open({str(db) + '-writer.lock'!r}, os.O_RDWR | os.O_CREAT)\n"
                "fcntl.flock(fd, fcntl.LOCK_EX)\n"
                "print('held', flush=True)\n"
                "time.sleep(float(sys.argv[1]))\n"
            ),
            "1.5",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Exception) as refused, engine.begin() as conn:
            conn.execute(insert(_items), {"id": 1, "name": "too late"})
        assert isinstance(refused.value.__cause__ or refused.value, sqlite3.OperationalError)
        assert "database is locked" in str(refused.value)
        holder.wait(timeout=10)
        with engine.begin() as conn:  # the other process let go: the gate is free again
            conn.execute(insert(_items), {"id": 2, "name": "after"})
        assert _names(engine) == ["after"]
    finally:
        holder.kill()
        engine.dispose()


# ------------------------------------------------------------------ lookup caches


def test_ttl_cache_expires_and_forgets() -> None:
    cache = TtlCache(0.2)
    cache.put("k", 1, cache.generation())
    assert cache.get("k") == 1
    cache.forget("k")
    assert cache.get("k") is None
    cache.put("k", 2, cache.generation())
    time.sleep(0.3)
    assert cache.get("k") is None
    off = TtlCache(0)
    off.put("k", 1, off.generation())
    assert off.get("k") is None


def test_ttl_cache_keeps_no_value_loaded_before_a_forget() -> None:
    """Found by a trial: a lookup racing a deactivation put the old ACTIVE row back for the whole TTL."""
    cache = TtlCache(60)
    before = cache.generation()  # a request starts loading the row ...
    cache.forget("integration")  # ... the deactivation commits and forgets it ...
    cache.put("integration", "ACTIVE (stale)", before)  # ... and the request finishes its load
    assert cache.get("integration") is None


@pytest.mark.live  # eight clients on real connections while the admin API deactivates
def test_a_deactivation_is_seen_by_the_next_request_under_concurrent_load(tenant: Tenant) -> None:
    """Requests keep arriving while the admin API deactivates the integration: every request that starts after
    the deactivation answered is refused (the cache is not refilled from a read that raced the commit)."""
    stop, late_ok, deactivated_at = threading.Event(), [], []

    def hammer() -> None:
        with tenant.client() as client:
            while not stop.is_set():
                started = time.monotonic()
                if (
                    client.get("/assessment/packages").status_code == 200
                    and deactivated_at
                    and started > deactivated_at[0]
                ):
                    late_ok.append(started - deactivated_at[0])

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        with admin(tenant.hub) as client:
            assert client.post(f"/integrations/{tenant.integration_id}/deactivate").status_code == 200
        deactivated_at.append(time.monotonic())
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert late_ok == [], f"{len(late_ok)} requests started after the deactivation were still served"


def test_a_key_revoked_by_another_process_is_refused_within_the_cache_time(tenant: Tenant) -> None:
    with tenant.client() as client:
        assert client.get("/assessment/packages").status_code == 200  # looked up: now cached
        with tenant.hub.sessions() as session, session.begin():  # what `api-keys revoke` does, elsewhere
            for row in session.scalars(select(ApiKeyRow)):
                row.revoked_at = utcnow()
        deadline = time.monotonic() + tenant.hub.settings.lookup_cache_s + 5
        while client.get("/assessment/packages").status_code == 200:
            assert time.monotonic() < deadline, "a revoked key was still accepted after lookup_cache_s"
            time.sleep(0.1)
        assert client.get("/assessment/packages").status_code == 401


def test_a_write_that_waits_past_the_busy_timeout_gets_a_retryable_429(tmp_path: Path) -> None:
    """Found by a trial: a long `sandbox seed` held the write lock and result PUTs answered 500 UNKNOWN_ERROR;
    the vendor must hear "nothing stored, send again" (429 PLATFORM.CONCURRENCY_LIMIT_EXCEEDED, Retry-After)."""
    with in_process_hub(f"sqlite:///{tmp_path / 'busy.db'}", tmp_path, sqlite_busy_timeout_ms=300) as hub:
        tenant = hub.new_tenant()
        tenant.publish("1001")
        order_id = tenant.create_order()
        holder = hub.sessions()
        holder.connection()  # BEGIN IMMEDIATE: holds the write lock like a long seed transaction
        try:
            response = tenant.put_result(order_id, {"status": "COMPLETED", "result_url": "https://v.example/1"})
        finally:
            holder.rollback()
            holder.close()
        check(response, 429, "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED", mentions="nothing was stored")
        assert response.headers["Retry-After"] == "1"
        assert tenant.order(order_id)["result"] is None
        assert (
            tenant.put_result(order_id, {"status": "COMPLETED", "result_url": "https://v.example/1"}).status_code == 200
        )
