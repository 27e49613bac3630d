"""Time (and optionally profile) one DeliveryWorker draining N pre-queued rows, in-process.

Seeds a database with N sandbox orders (each queues one ``assessment:order-received`` webhook) and a
result for each (one ``result`` write-back), with the sandbox's ``writeback_url`` and the webhook
endpoint pointing at a local HTTP receiver that answers 200, then runs ``DeliveryWorker.run`` until
every row is final and prints rows/s.

    PYTHONPATH=src:. python bench/profile_worker.py --db sqlite --n 2000
    PYTHONPATH=src:. python bench/profile_worker.py --db postgresql+psycopg://postgres@127.0.0.1:5432/wk_x --n 2000
    ... --profile out.prof      # cProfile of the whole drain (all threads: run under py-spy for those)
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import record_result, set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.delivery.worker import DeliveryWorker
from assessment_hub.webhooks.service import create_endpoint


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as separate writes: without TCP_NODELAY, Nagle + delayed ACK hold each answer
    # ~40 ms, and the drain measured this receiver (8 senders: ~170 rows/s), not the worker
    disable_nagle_algorithm = True
    count: Any = None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Receiver.count.get_lock():
            Receiver.count.value += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


def receive(port: Any, count: Any) -> None:
    """The vendor and the ATS (``writeback_url``): a process of its own, answering 200 to every POST."""
    Receiver.count = count
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    port.value = server.server_address[1]
    server.serve_forever()


def seed(settings: Settings, sessions: sessionmaker, n: int, url: str) -> None:
    with unit_of_work(sessions) as session:
        create_endpoint(session, settings.cipher, f"{url}/hook")
        integration = create_integration(
            session, "sandbox", "Bench Org", settings={"writeback_url": f"{url}/wb"}, cipher=settings.cipher
        )
        set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
    for start in range(0, n, 200):
        with unit_of_work(sessions) as session:
            orders = [
                create_sandbox_order(session, integration.id, "1001", seed=i).id
                for i in range(start, min(n, start + 200))
            ]
            for order_id in orders:
                record_result(
                    session,
                    integration.id,
                    order_id,
                    NormalizedResult(
                        status="COMPLETED",
                        result_url="https://vendor.example/r/1",
                        completed_at=datetime.now(UTC),
                        score=7.0,
                        max_score=10.0,
                        attributes=[{"field": "a", "value": "b"}],
                        remote_fields=None,
                    ),
                    [],
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a temporary file) or a PostgreSQL URL (emptied)")
    parser.add_argument("--n", type=int, default=1000, help="orders (each: 1 webhook + 1 write-back)")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument(
        "--profile", default=None, help="write a cProfile of every thread started during the drain (merged) here"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="profile-worker-"))
    url = f"sqlite:///{tmp / 'hub.db'}" if args.db == "sqlite" else args.db
    overrides = {"worker_concurrency": args.concurrency} if args.concurrency else {}
    settings = Settings(database_url=url, attachments_dir=tmp / "att", **overrides)
    engine = build_engine(settings)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)

    port, count = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    receiver = multiprocessing.Process(target=receive, args=(port, count), daemon=True)
    receiver.start()
    while not port.value:
        time.sleep(0.01)
    t0 = time.perf_counter()
    seed(settings, sessions, args.n, f"http://127.0.0.1:{port.value}")
    with sessions() as s:
        total = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.state == "pending"))
    print(f"seeded {total} due rows in {time.perf_counter() - t0:.1f} s ({engine.dialect.name})")

    worker = DeliveryWorker(settings, sessions)
    stop = threading.Event()
    profiles: list[cProfile.Profile] = []

    def boot(*_args: object) -> None:  # the first profile event of a new thread: profile that thread
        profile = cProfile.Profile(time.thread_time)  # CPU time: waits do not count
        profiles.append(profile)
        profile.enable()

    if args.profile:
        threading.setprofile(boot)

    def run() -> None:
        worker.run(stop)

    started, cpu_started = time.perf_counter(), time.process_time()
    thread = threading.Thread(target=run)
    thread.start()
    while True:
        time.sleep(0.1)
        with sessions() as s:
            left = s.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.state.in_(("pending", "in_flight")))
            )
        if not left:
            break
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stop.set()
    worker.wake.set()
    thread.join()
    with sessions() as s:
        states = dict(s.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
        attempts = s.scalar(select(func.count()).select_from(DeliveryAttemptRow))
    print(
        f"drained {total} rows in {elapsed:.2f} s: {total / elapsed:.0f} rows/s; states {states}; "
        f"attempts {attempts}; receiver got {count.value}"
    )
    print(
        f"process CPU {cpu:.2f} s = {cpu / total * 1000:.2f} ms per row (this process: the worker and the polling of this script); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if profiles:
        threading.setprofile(None)
        for profile in profiles:
            profile.disable()
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(args.profile)
    receiver.terminate()
    engine.dispose()


if __name__ == "__main__":
    main()
