"""Client CPU per result write, in-process, no HTTP: the write job of ``PUT .../result`` run sequentially.

Seeds N sandbox orders, then for each one runs what the route's write job runs in its own transaction
(``service.accept_result`` where it exists, else ``record_result`` + ``take_notices`` as before it), and
prints CPU ms per result (``time.process_time``: this process only, the database server's CPU is not in
it) and wall ms per result. Run it against two checkouts to compare them:

    PYTHONPATH=src:. python bench/profile_writes.py --db postgresql+psycopg://postgres@127.0.0.1:5432/pw_x --n 2000
    PYTHONPATH=/other/checkout/src:. python bench/profile_writes.py --db sqlite --n 2000
    ... --profile out.prof      # cProfile of the writes
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment import service
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.integrations.notices import take_notices

_BENCH_KEY = "q1X3bQeVJ0dWv0mJr2b5m3nN6G0m7a1x9cQ0V9oUw8Q="
"""A fixed key for the scratch PostgreSQL database (PostgreSQL needs one; ``ASSESSMENT_HUB_SECRET_KEY`` wins)."""


def _result() -> NormalizedResult:
    return NormalizedResult(
        status="COMPLETED",  # type: ignore[arg-type]
        result_url="https://vendor.example/r/1",
        completed_at=None,
        score=7.0,
        max_score=10.0,
        attributes=[{"type": "TEXT", "label": "Fit", "value": "Good"}, {"type": "TEXT", "label": "B", "value": "x"}],
        remote_fields=None,
    )


def _write(session: Any, integration_id: str, order_id: str) -> list[str]:
    accept = getattr(service, "accept_result", None)
    if accept is not None:
        _record, notices = accept(session, integration_id, order_id, _result(), [])
        return notices
    service.record_result(session, integration_id, order_id, _result(), [])
    return take_notices(session, integration_id, order_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL (the database is recreated)")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--profile", help="write a cProfile of the writes here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'w.db'}"
        else:
            url = args.db
            admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
            name = make_url(url).database
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
        key = (
            {}
            if url.startswith("sqlite")
            else {"secret_key": os.environ.get("ASSESSMENT_HUB_SECRET_KEY") or _BENCH_KEY}
        )
        settings = Settings(database_url=url, attachments_dir=Path(tmp) / "att", **key)
        engine = build_engine(settings)
        upgrade(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        with unit_of_work(sessions) as session:
            integration = create_integration(session, "sandbox", "Bench Org")
            service.set_packages(
                session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")]
            )
        order_ids: list[str] = []
        for start in range(0, args.n, 500):
            with unit_of_work(sessions) as session:
                order_ids += [
                    create_sandbox_order(session, integration.id, "1001", seed=i).id
                    for i in range(start, min(start + 500, args.n))
                ]
        for order_id in order_ids[:50]:  # warm-up: statement caches, prepared statements
            with unit_of_work(sessions) as session:
                _write(session, integration.id, order_id)
        measured = order_ids[50:]
        profiler = cProfile.Profile() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for order_id in measured:
            with unit_of_work(sessions) as session:
                _write(session, integration.id, order_id)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"{engine.dialect.name}: {len(measured)} results, {cpu / len(measured) * 1000:.3f} ms CPU per result, "
            f"{wall / len(measured) * 1000:.3f} ms wall per result"
        )
        if profiler and args.profile:
            profiler.dump_stats(args.profile)
            pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
        engine.dispose()


if __name__ == "__main__":
    main()
