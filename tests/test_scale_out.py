"""Scale-out on PostgreSQL: workers in other processes are woken by NOTIFY, and two ``assessment-hub worker``
processes, one of them killed with SIGKILL mid-batch, deliver everything exactly once (but what the killed
one had in hand) and in per-order revision order.

The delivery test (``slow``): ``serve --no-worker`` and two ``worker`` processes on one temporary database;
a receiver on loopback that answers after ``RECEIVER_DELAY_S`` stands for the vendor (webhooks) and the
ATS (the sandbox's ``writeback_url`` mirror: one POST per write-back sent). Each order gets
``assessment:order-received``, then an OPEN and a COMPLETED result in quick succession. Once the first
worker holds claimed deliveries and the receiver is busy, the worker is frozen (SIGSTOP: its claims can no
longer change), its claims are read, and it is killed (SIGKILL). The other worker takes its rows over when
their lease ends. Then:

- every webhook event and every final revision arrived;
- a delivery arrived twice only if it was among the killed worker's claims (sent, never recorded:
  at-least-once is the outbox's promise), never more than twice; every other one exactly once;
- per order, no revision arrived after a later one (a repeat of the same one aside);
- nothing is left pending or in flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from assessment_hub.app import create_app
from assessment_hub.assessment.models import ResultRevisionRow
from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.driver import conninfo
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.listening import OutboxListener
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.delivery.wakeup import wake_on_outbox_commit
from assessment_hub.integrations.service import create_api_key
from assessment_hub.webhooks.service import create_endpoint
from tests.support import free_port, key_env, key_settings, temporary_postgres_database

POSTGRES_URL = os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="ASSESSMENT_HUB_TEST_POSTGRES_URL is not set"),
]
CLI = [sys.executable, "-m", "assessment_hub.cli"]
RECEIVER_DELAY_S = 0.03
ORDERS = 150
LEASE_S = 5
DEADLINE_S = 120
RESULT = {"result_url": "https://vendor.example/r", "score": 1, "max_score": 2}


@pytest.fixture
def database() -> Iterator[str]:
    assert POSTGRES_URL
    with temporary_postgres_database(POSTGRES_URL) as url:
        engine = build_engine(Settings(database_url=url, **key_settings(url)))
        upgrade(engine)
        engine.dispose()
        yield url


def _wait(what: str, probe: Any, timeout: float, diagnostics: Any = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{diagnostics()}")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------- NOTIFY


def test_commits_that_queue_deliveries_wake_a_listener_on_another_connection(database: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database, attachments_dir=tmp_path / "att", **key_settings(database))
    engine = build_engine(settings)
    sessions = sessionmaker(engine, expire_on_commit=False)
    wake_on_outbox_commit(sessions, threading.Event())  # as the app registers it
    woken, stop = threading.Event(), threading.Event()
    listener = OutboxListener(conninfo(engine), woken, stop).start()
    try:
        _wait("the listener to listen", listener.listening.is_set, 10)
        with unit_of_work(sessions) as session:
            key = create_api_key(session, "notify")
            integration = create_integration(session, "sandbox", "Notify Org")
            set_packages(session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")])
            create_endpoint(session, settings.cipher, "http://127.0.0.1:9/hook")
        time.sleep(0.2)  # the listener's own first wake-up
        woken.clear()

        # an ORM write that queues a webhook (order-received) notifies before its commit
        with unit_of_work(sessions) as session:
            order_id = create_sandbox_order(session, integration.id, "1001").id
        assert woken.wait(10), "no wake-up after an order was created"
        woken.clear()

        # the result write notifies inside its pipeline
        app = create_app(settings)
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration.id}
            response = client.put(
                f"/v1/assessment/orders/{order_id}/result", headers=headers, json={**RESULT, "status": "COMPLETED"}
            )
            assert response.status_code == 200, response.text
            assert woken.wait(10), "no wake-up after a result was accepted"
    finally:
        stop.set()
        listener.join(5)
        engine.dispose()


# ---------------------------------------------------------------------------------------------- two workers


class SlowReceiver:
    """Vendor webhooks (``/hook``) and sandbox write-back mirrors (``/wb``), each answered 200 after
    ``delay_s``; every request is kept (duplicates included)."""

    def __init__(self, delay_s: float) -> None:
        self.hooks: list[dict[str, Any]] = []
        self.writebacks: list[dict[str, Any]] = []
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                time.sleep(delay_s)
                with lock:
                    (receiver.hooks if self.path.startswith("/hook") else receiver.writebacks).append(body)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the killed worker's connection: received all the same
                    pass

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_worker_processes_one_killed_mid_batch_deliver_once_and_in_order(database: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database,
        **key_env(database),
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "ASSESSMENT_HUB_WORKER_LEASE_S": str(LEASE_S),
        "ASSESSMENT_HUB_DELIVERY_TIMEOUT_S": "2",
        "ASSESSMENT_HUB_ALLOW_PRIVATE_NETWORK": "true",
    }
    settings = Settings(database_url=database, **key_settings(database))
    engine = build_engine(settings)
    sessions = sessionmaker(engine, expire_on_commit=False)
    receiver = SlowReceiver(RECEIVER_DELAY_S)
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []

    def spawn(name: str, args: list[str]) -> subprocess.Popen:
        log = tmp_path / f"{name}-{len(logs)}.log"
        logs.append(log)
        proc = subprocess.Popen(CLI + args, env=env, cwd=tmp_path, stdout=log.open("w"), stderr=subprocess.STDOUT)
        processes.append(proc)
        return proc

    def diagnostics() -> str:
        with sessions() as session:
            states = dict(session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
        tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in logs if p.exists())
        return f"outbox: {states}; received {len(receiver.hooks)} webhooks, {len(receiver.writebacks)} write-backs\n{tails}"

    try:
        with unit_of_work(sessions) as session:
            api_key = create_api_key(session, "scale-out")
            integration = create_integration(
                session,
                "sandbox",
                "Scale Org",
                settings={"writeback_url": f"{receiver.url}/wb"},
                cipher=settings.cipher,
            )
            create_endpoint(session, settings.cipher, f"{receiver.url}/hook")
        port = free_port()
        spawn("serve", ["serve", "--no-worker", "--port", str(port)])
        victim, survivor = spawn("worker", ["worker"]), spawn("worker", ["worker"])
        api = f"http://127.0.0.1:{port}/v1"
        headers = {"Authorization": f"Bearer {api_key}", "X-Integration-Id": integration.id}

        def up() -> bool:
            assert all(p.poll() is None for p in processes), diagnostics()
            try:
                return httpx.get(f"{api}/check-api-key", timeout=5).status_code == 401
            except httpx.TransportError:
                return False

        _wait("the server", up, 90, diagnostics)  # a busy CI machine takes its time to start three processes
        with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
            published = client.put(
                "/assessment/packages",
                json={"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]},
            )
            assert published.status_code == 200, published.text
        orders: list[str] = []
        with unit_of_work(sessions) as session:
            orders = [create_sandbox_order(session, integration.id, "1001", seed=i).id for i in range(ORDERS)]

        failures: list[str] = []

        def results(order_id: str, client: httpx.Client) -> None:
            for status in ("OPEN", "COMPLETED"):
                response = client.put(f"/assessment/orders/{order_id}/result", json={**RESULT, "status": status})
                if response.status_code != 200:
                    failures.append(f"{order_id} {status}: {response.status_code} {response.text[:200]}")

        def send_all() -> None:
            with (
                httpx.Client(base_url=api, headers=headers, timeout=30) as client,
                ThreadPoolExecutor(6) as pool,
            ):
                list(pool.map(lambda o: results(o, client), orders))

        sender = threading.Thread(target=send_all)
        sender.start()

        def victim_claims() -> list[int]:
            with sessions() as session:
                return list(
                    session.scalars(
                        select(OutboxRow.id).where(
                            OutboxRow.state == "in_flight", OutboxRow.claimed_by.like(f"%:{victim.pid}:%")
                        )
                    )
                )

        _wait(
            "the first worker to hold claims mid-run",
            lambda: len(victim_claims()) >= 2 and len(receiver.hooks) + len(receiver.writebacks) >= ORDERS // 2,
            60,
            diagnostics,
        )
        victim.send_signal(signal.SIGSTOP)  # frozen: its claims cannot change any more
        held = set(victim_claims())
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        assert held

        sender.join(timeout=DEADLINE_S)
        assert not sender.is_alive() and not failures, failures[:5]

        def done() -> bool:
            assert survivor.poll() is None, diagnostics()
            with sessions() as session:
                return not session.scalar(
                    select(func.count()).select_from(OutboxRow).where(OutboxRow.state.in_(("pending", "in_flight")))
                )

        _wait("every delivery to be final", done, DEADLINE_S, diagnostics)
        time.sleep(RECEIVER_DELAY_S * 10)  # requests answered but not yet counted

        with sessions() as session:
            outbox = session.execute(
                select(OutboxRow.id, OutboxRow.kind, OutboxRow.event_id, OutboxRow.order_id, OutboxRow.revision_id)
            ).all()
            revision_numbers = dict(session.execute(select(ResultRevisionRow.id, ResultRevisionRow.revision)).all())
            states = Counter(session.scalars(select(OutboxRow.state)))
        assert set(states) <= {"succeeded", "superseded"}, states
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        receiver.stop()
        engine.dispose()

    # which outbox row each received request delivered
    row_of_event = {row.event_id: row.id for row in outbox if row.kind == "webhook"}
    row_of_writeback = {
        (row.order_id, revision_numbers[row.revision_id]): row.id
        for row in outbox
        if row.kind == "writeback" and row.revision_id
    }
    receipts: Counter[int] = Counter()
    for hook in receiver.hooks:
        receipts[row_of_event[hook["id"]]] += 1
    arrived: dict[str, list[int]] = defaultdict(list)
    for writeback in receiver.writebacks:
        receipts[row_of_writeback[(writeback["order_id"], writeback["revision"])]] += 1
        arrived[writeback["order_id"]].append(writeback["revision"])

    order_received = {hook["data"]["id"] for hook in receiver.hooks if hook["type"] == "assessment:order-received"}
    assert order_received == set(orders)
    assert {o for o, revisions in arrived.items() if 2 in revisions} == set(orders)  # every final revision
    repeated = {row: count for row, count in receipts.items() if count > 1}
    assert set(repeated) <= held, f"delivered more than once but not held by the killed worker: {repeated}"
    assert max(receipts.values()) <= 2, repeated
    out_of_order = {o: revisions for o, revisions in arrived.items() if revisions != sorted(revisions)}
    assert not out_of_order, out_of_order
    print(
        f"\n[scale-out] {ORDERS} orders, {len(receiver.hooks)} webhooks and {len(receiver.writebacks)} write-backs "
        f"received; killed worker held {len(held)} claims, {len(repeated)} delivered twice; outbox {dict(states)}"
    )
