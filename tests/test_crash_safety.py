"""Crash safety of the outbox: real processes, a flaky ATS, and a worker killed with SIGKILL mid-run.

`serve --no-worker` plus worker processes (two on PostgreSQL, one on SQLite), a real vendor webhook
receiver on loopback (verifying signatures, recording event ids), orders placed in the sandbox, results
sent over HTTP while the sandbox ATS fails a third of write-backs; one worker is killed while it holds
claimed deliveries, then restarted. Then: every webhook and every write-back arrived, none lost, per-order
revision order held, nothing is left pending/in flight/dead, and no outbox row was worked on by two
workers at once (their attempts never overlap in time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.models import SandboxWritebackRow
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.connectors.sandbox.service import set_outage
from assessment_hub.db.engine import build_engine
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.demo import SignedWebhookReceiver
from assessment_hub.integrations.service import create_api_key
from tests.support import free_port, key_env, key_settings, temporary_postgres_database

pytestmark = pytest.mark.subprocess

POSTGRES_URL = os.environ.get("ASSESSMENT_HUB_TEST_POSTGRES_URL")
CLI = [sys.executable, "-m", "assessment_hub.cli"]
SHORT_RETRIES = {
    "ASSESSMENT_HUB_RETRY_BASE_S": "0.05",
    "ASSESSMENT_HUB_RETRY_CAP_S": "0.5",
    "ASSESSMENT_HUB_WORKER_POLL_S": "0.05",
    "ASSESSMENT_HUB_WORKER_LEASE_S": "10",  # well over a send under CI load: a lease that lapses mid-send lets a second worker in
    "ASSESSMENT_HUB_DELIVERY_TIMEOUT_S": "2",
}
ORDER_RECEIVED = "assessment:order-received"
DEADLINE_S = 120


@dataclass
class Plan:
    orders: int
    one_result: int
    """Orders that get one COMPLETED result."""
    two_results: int
    """Orders that get OPEN, then (in a second wave) COMPLETED: revision order matters for these."""
    workers: int

    @property
    def results(self) -> int:
        return self.one_result + 2 * self.two_results


@dataclass
class Run:
    """The processes and handles of one scenario."""

    tmp: Path
    env: dict[str, str]
    sessions: sessionmaker
    receiver: SignedWebhookReceiver
    api_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    integration_id: str = ""
    server: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = self.tmp / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        return subprocess.Popen(CLI + args, env=self.env, cwd=self.tmp, stdout=log.open("w"), stderr=subprocess.STDOUT)

    def start_worker(self) -> subprocess.Popen:
        proc = self.spawn("worker", ["worker"])
        self.workers.append(proc)
        return proc

    def diagnostics(self) -> str:
        with self.sessions() as session:
            states = dict(session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state)).all())
            stuck = session.scalars(
                select(OutboxRow).where(OutboxRow.state.in_(("pending", "in_flight", "dead"))).limit(5)
            ).all()
            stuck_text = "\n".join(
                f"  #{r.id} {r.kind} {r.action} {r.state} claimed_by={r.claimed_by} "
                f"lease={r.lease_until} next={r.next_attempt_at} attempts={r.attempts} "
                f"error={r.last_error}"
                for r in stuck
            )
        tails = "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            for log in self.logs
            if log.exists()
        )
        return f"outbox states: {states}\n{stuck_text}\nreceiver: {len(self.receiver.events)} events\n{tails}"


def wait_until(run: Run, what: str, probe: Callable[[], Any], timeout: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{run.diagnostics()}")
        time.sleep(0.1)


def cli(run: Run, *args: str) -> str:
    done = subprocess.run(CLI + list(args), env=run.env, cwd=run.tmp, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def scenario(database_url: str, tmp: Path, workers: int) -> Iterator[Run]:
    """A fresh database; ``serve --no-worker`` and the workers are started together on it (each migrates
    on start: they must not trip over each other), then a webhook endpoint and a flaky sandbox."""
    env = {
        **os.environ,
        **SHORT_RETRIES,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp / "attachments"),
        **key_env(database_url),
    }
    settings = Settings(database_url=database_url, **key_settings(database_url))
    engine = build_engine(settings)
    receiver = SignedWebhookReceiver().start()
    run = Run(tmp, env, sessionmaker(engine, expire_on_commit=False), receiver)
    try:
        port = free_port()
        run.server = run.spawn("serve", ["serve", "--no-worker", "--port", str(port)])
        for _ in range(workers):
            run.start_worker()
        run.api_url = f"http://127.0.0.1:{port}/v1"

        def up() -> bool:
            assert run.server.poll() is None, run.diagnostics()
            assert all(w.poll() is None for w in run.workers), run.diagnostics()
            try:
                return httpx.get(f"{run.api_url}/check-api-key", timeout=1).status_code == 401
            except httpx.TransportError:
                return False

        wait_until(run, "the server to listen", up, timeout=30)
        receiver.secret = cli(run, "webhooks", "create", "--url", receiver.url, "--events", ORDER_RECEIVED)
        with unit_of_work(run.sessions) as session:
            api_key = create_api_key(session, "crash-safety")
            run.integration_id = create_integration(session, "sandbox", "Crash Org").id
            set_outage(session, run.integration_id, "flaky", fail_ratio=0.33)
        run.headers = {"Authorization": f"Bearer {api_key}", "X-Integration-Id": run.integration_id}
        yield run
    finally:
        for proc in [*run.workers, run.server]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*run.workers, run.server]:
            if proc is not None:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        receiver.stop()
        engine.dispose()


def exercise(run: Run, plan: Plan) -> dict[str, Any]:
    """Place orders, send results, kill -9 a worker holding claims, restart it, wait for everything."""
    started = time.monotonic()
    with httpx.Client(base_url=run.api_url, headers=run.headers, timeout=30) as client:
        assert (
            client.put(
                "/assessment/packages",
                json={"packages": [{"id": "1001", "type": "SKILLS_TEST", "name": "T", "description": "d"}]},
            ).status_code
            == 200
        )

    orders: list[str] = []
    for batch in range(0, plan.orders, 50):
        with unit_of_work(run.sessions) as session:
            orders += [
                create_sandbox_order(session, run.integration_id, "1001", seed=i).id
                for i in range(batch, min(batch + 50, plan.orders))
            ]
    single = orders[: plan.one_result]
    double = orders[plan.one_result : plan.one_result + plan.two_results]
    final_revision = {**{o: 1 for o in single}, **{o: 2 for o in double}}
    sent: list[int] = []
    failures: list[str] = []

    def put(order_id: str, status: str, client: httpx.Client) -> None:
        response = client.put(
            f"/assessment/orders/{order_id}/result",
            json={
                "status": status,
                "result_url": f"https://vendor.example/r/{order_id}",
                "score": 50 if status == "OPEN" else 90,
                "max_score": 100,
            },
        )
        if response.status_code != 200:
            failures.append(f"{order_id} {status}: {response.status_code} {response.text[:200]}")
        sent.append(1)

    def writebacks() -> dict[str, list[int]]:
        with run.sessions() as session:
            rows = session.execute(
                select(SandboxWritebackRow.order_id, SandboxWritebackRow.revision)
                .where(SandboxWritebackRow.kind == "result")
                .order_by(SandboxWritebackRow.id)
            ).all()
        received: dict[str, list[int]] = defaultdict(list)
        for order_id, revision in rows:
            received[order_id].append(revision)
        return received

    def send_results() -> None:
        with (
            httpx.Client(
                base_url=run.api_url, headers=run.headers, timeout=30, limits=httpx.Limits(max_connections=8)
            ) as client,
            ThreadPoolExecutor(8) as pool,
        ):
            wave1 = [(o, "COMPLETED") for o in single] + [(o, "OPEN") for o in double]
            wave1.sort(key=lambda item: hash(item[0]))  # interleave
            list(pool.map(lambda item: put(*item, client), wave1))
            # Let part of the OPEN revisions reach the ATS first, so the second wave finds some delivered,
            # some in flight or retrying (kept in order) and some still waiting (superseded).
            wait_until(
                run,
                "some first revisions to arrive",
                lambda: sum(1 in revs for o, revs in writebacks().items() if o in set(double)) >= len(double) // 3,
                timeout=60,
            )
            list(pool.map(lambda o: put(o, "COMPLETED", client), double))

    results_thread = threading.Thread(target=send_results, name="results")
    results_thread.start()

    victim = run.workers[0]

    def victim_holds_claims() -> bool:
        with run.sessions() as session:
            held = session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.state == "in_flight", OutboxRow.claimed_by.like(f"%:{victim.pid}:%"))
            )
        return held > 0 and len(sent) >= plan.results // 4

    wait_until(run, "the first worker to hold claimed deliveries mid-run", victim_holds_claims, timeout=60)
    with run.sessions() as session:
        held_at_kill = session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.state == "in_flight", OutboxRow.claimed_by.like(f"%:{victim.pid}:%"))
        )
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    killed_at = time.monotonic() - started
    run.start_worker()

    results_thread.join(timeout=DEADLINE_S)
    assert not results_thread.is_alive(), "sending results did not finish"
    assert not failures, failures[:5]
    results_sent_at = time.monotonic() - started

    def all_delivered() -> bool:
        delivered_orders = {e.data.get("id") for e in run.receiver.events if e.type == ORDER_RECEIVED}
        if not set(orders) <= delivered_orders:
            return False
        received = writebacks()
        if any(final_revision[o] not in received.get(o, []) for o in final_revision):
            return False
        with run.sessions() as session:
            return not session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.state.in_(("pending", "in_flight")))
            )

    wait_until(run, "every webhook and write-back to be delivered", all_delivered)
    return {
        "orders": orders,
        "final_revision": final_revision,
        "writebacks": writebacks(),
        "victim_pid": victim.pid,
        "held_at_kill": held_at_kill,
        "killed_at": killed_at,
        "results_sent_at": results_sent_at,
        "done_at": time.monotonic() - started,
    }


def check(run: Run, outcome: dict[str, Any], label: str) -> None:
    orders, final_revision, received = outcome["orders"], outcome["final_revision"], outcome["writebacks"]
    with run.sessions() as session:
        outbox = session.scalars(select(OutboxRow)).all()
        attempts = session.scalars(select(DeliveryAttemptRow).order_by(DeliveryAttemptRow.started_at)).all()
        sandbox_rows = session.scalars(select(SandboxWritebackRow)).all()

    # Webhooks: every event id reached the receiver; one distinct event id per order.
    sent_event_ids = {row.event_id for row in outbox if row.kind == "webhook" and row.action == ORDER_RECEIVED}
    assert len(sent_event_ids) == len(orders)
    received_events = [e for e in run.receiver.events if e.type == ORDER_RECEIVED]
    assert sent_event_ids <= {e.event_id for e in received_events}
    ids_per_order: dict[str, set[str]] = defaultdict(set)
    for event in received_events:
        ids_per_order[event.data["id"]].add(event.event_id)
    assert set(ids_per_order) == set(orders)
    assert all(len(ids) == 1 for ids in ids_per_order.values()), {o: i for o, i in ids_per_order.items() if len(i) > 1}

    # Write-backs: the final revision of every order arrived, and revisions arrived in increasing order.
    missing = [o for o, rev in final_revision.items() if rev not in received.get(o, [])]
    assert not missing, f"{len(missing)} orders lack their final write-back, e.g. {missing[:3]}"
    out_of_order = {o: revs for o, revs in received.items() if revs != sorted(set(revs))}
    assert not out_of_order, f"revisions not strictly increasing: {dict(list(out_of_order.items())[:5])}"

    # Nothing left behind.
    leftover = [(r.id, r.state) for r in outbox if r.state in ("pending", "in_flight", "dead")]
    assert not leftover, leftover[:10]

    # No row worked on by two workers at once.
    by_row: dict[int, list[DeliveryAttemptRow]] = defaultdict(list)
    for attempt in attempts:
        by_row[attempt.outbox_id].append(attempt)
    overlaps = []
    for outbox_id, row_attempts in by_row.items():
        for i, a in enumerate(row_attempts):
            for b in row_attempts[i + 1 :]:
                if a.worker_id != b.worker_id and a.started_at < b.finished_at and b.started_at < a.finished_at:
                    overlaps.append(
                        (outbox_id, a.worker_id, a.started_at, a.finished_at, b.worker_id, b.started_at, b.finished_at)
                    )
    assert not overlaps, overlaps[:5]

    webhook_duplicates = len(received_events) - len({e.event_id for e in received_events})
    writeback_duplicates = sum(row.deliveries - 1 for row in sandbox_rows)
    states = defaultdict(int)
    for row in outbox:
        states[row.state] += 1
    print(
        f"\n[{label}] {len(orders)} orders, {sum(final_revision.values())} results; worker pid "
        f"{outcome['victim_pid']} killed at {outcome['killed_at']:.1f}s holding {outcome['held_at_kill']} claims; "
        f"results sent by {outcome['results_sent_at']:.1f}s; all delivered at {outcome['done_at']:.1f}s; "
        f"{len(attempts)} attempts ({sum(a.outcome == 'retry' for a in attempts)} retries, "
        f"{sum(a.outcome.startswith('late') for a in attempts)} late); outbox {dict(states)}; "
        f"duplicates delivered: {webhook_duplicates} webhooks, {writeback_duplicates} write-backs"
    )


def test_crash_safety_sqlite_one_worker(tmp_path: Path) -> None:
    plan = Plan(orders=120, one_result=40, two_results=40, workers=1)
    with scenario(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, plan.workers) as run:
        check(run, exercise(run, plan), "sqlite")


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="ASSESSMENT_HUB_TEST_POSTGRES_URL is not set")
def test_crash_safety_postgres_two_workers(tmp_path: Path) -> None:
    plan = Plan(orders=500, one_result=200, two_results=150, workers=2)
    assert POSTGRES_URL
    with temporary_postgres_database(POSTGRES_URL) as url, scenario(url, tmp_path, plan.workers) as run:
        check(run, exercise(run, plan), "postgres")
