"""The delivery worker while its database cannot be used (delivery.outage): one warning per outage instead of a
traceback every poll, tries ever less often (1, 2, 4 ... 30 s), one line when the database answers again,
and the attempts finished meanwhile kept and recorded once it does."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from assessment_hub.assessment.schemas import PackageIn
from assessment_hub.assessment.service import set_packages
from assessment_hub.config import Settings
from assessment_hub.connecting import create_integration
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.heartbeat import Chore, Heartbeat, WorkerHeartbeatRow
from assessment_hub.delivery.jobs import Finished
from assessment_hub.delivery.outage import DatabaseWatch, Outage
from assessment_hub.delivery.recording import RecorderThread
from assessment_hub.delivery.senders import Outcome
from assessment_hub.delivery.states import SendStatus
from assessment_hub.delivery.worker import DeliveryWorker
from assessment_hub.privacy.retention import prune_inbound_events
from assessment_hub.webhooks.service import create_endpoint
from tests.conftest import POSTGRES_URL
from tests.receiver import VendorReceiver
from tests.support import free_port, key_env, key_settings, serve_in_thread, temporary_postgres_database, wait_until

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1: refused at once


def _refused() -> OperationalError:
    """The error a refused connection really raises (what ``errors.database_problem`` must recognise)."""
    engine = create_engine(NOWHERE)
    try:
        engine.connect()
    except OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("something listens on port 1")


REFUSED = _refused()


def test_an_outage_is_logged_once_and_tries_back_off(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.outage")
    outage = Outage("claiming", log)
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        waits = [outage.failed(REFUSED) for _ in range(7)]
        outage.recovered()
        outage.recovered()  # no outage: nothing more to say
        again = outage.failed(REFUSED)
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert again == 1  # a new outage starts from the first wait
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("claiming: the database cannot be used (") and "Connection refused" in lines[0]
    assert lines[1] == "claiming: the database answers again (after 7 failed tries)"


def test_the_loops_of_one_watch_log_one_outage_once(caplog: pytest.LogCaptureFixture) -> None:
    """Three loops sharing one ``DatabaseWatch`` (as a worker's do): one line when the first fails, none for
    the others' failures, one when any succeeds again; a loop still failing since then (it has not had a
    success) stays silent, and only a loop failing afresh opens a new outage."""
    log = logging.getLogger("test.outage")
    watch = DatabaseWatch("delivery worker", log)
    claims = Outage("claim loop", log, watch=watch)
    beats = Outage("heartbeat", log, every_s=5, watch=watch)
    listens = Outage("LISTEN connection", log, watch=watch)
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        assert beats.failed(REFUSED) == 1  # each loop keeps its own backoff
        assert [claims.failed(REFUSED) for _ in range(3)] == [1, 2, 4]
        listens.failed(REFUSED)
        beats.failed(REFUSED)
        assert watch.down
        claims.recovered()
        assert not watch.down and claims.failures == 0 and listens.failures == 1
        listens.failed(REFUSED)  # still failing since the outage: no new one
        beats.recovered()
        listens.recovered()  # no outage: nothing to say
        claims.recovered()
        claims.failed(REFUSED)  # afresh: a new outage
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("delivery worker: the database cannot be used (") and "Connection refused" in lines[0]
    assert lines[0].endswith("; seen first by its heartbeat, which tries again every 5 s"), lines[0]
    assert lines[1].startswith("delivery worker: the database answers again (after 6 failed tries in 3 loops over ")
    assert lines[1].endswith(" s; seen by its claim loop)"), lines[1]
    assert lines[2].endswith(
        "; seen first by its claim loop, which tries again in 1 s, then less often (up to every 30 s)"
    )


def test_a_worker_without_its_database_warns_once_and_backs_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = NOWHERE
    settings = Settings(database_url=url, **key_settings(url), attachments_dir=tmp_path / "att", worker_poll_s=0.05)
    engine = build_engine(settings)
    worker = DeliveryWorker(settings, sessionmaker(engine), worker_id="w1")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    with caplog.at_level(logging.WARNING, logger="assessment_hub.worker"):
        thread.start()
        stop.wait(3.5)  # tries at 0, 1 and 3 s; polling every 0.05 s would have tried ~70 times
        stop.set()
        thread.join(10)
    engine.dispose()
    assert not thread.is_alive()
    lines = [r.getMessage() for r in caplog.records if "the database cannot be used" in r.getMessage()]
    assert len(lines) == 1, lines  # the claim loop, the LISTEN connection and the heartbeat all failed: one line
    assert lines[0].startswith("delivery worker: the database cannot be used ("), lines
    assert 2 <= worker._claim_outage.failures <= 4
    assert not [r.getMessage() for r in caplog.records if r.exc_info]  # no traceback at all


def _finished(outbox_id: int) -> Finished:
    now = datetime.now(UTC)
    return Finished(outbox_id, Outcome(SendStatus.SUCCEEDED, http_status=200), now, now)


def test_attempts_finished_while_the_database_is_away_are_recorded_once_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorded: list[list[int]] = []
    refusals = iter([True])

    def record_batch(batch: list[Finished]) -> None:
        if next(refusals, False):
            raise REFUSED
        recorded.append([f.outbox_id for f in batch])

    recorder = RecorderThread(record_batch, lambda: None, gap_s=0.0)
    with caplog.at_level(logging.WARNING, logger="assessment_hub.worker"):
        recorder.start()
        recorder.put(_finished(1))
        time.sleep(0.3)  # the first try has failed: the next is 1 s later
        recorder.put(_finished(2))
        recorder.close()  # cuts the wait short; its last try succeeds
    assert recorded == [[1, 2]]  # kept, not one by one, not dropped
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(":")[0] for line in lines] == ["recorder"] * 2, lines
    assert "answers again" in lines[1]


def test_a_worker_stopping_during_an_outage_says_what_it_could_not_record(caplog: pytest.LogCaptureFixture) -> None:
    def record_batch(batch: list[Finished]) -> None:
        raise REFUSED

    recorder = RecorderThread(record_batch, lambda: None, gap_s=0.0)
    with caplog.at_level(logging.WARNING, logger="assessment_hub.worker"):
        recorder.start()
        recorder.put(_finished(1))
        recorder.put(_finished(2))
        time.sleep(0.3)
        started = time.monotonic()
        recorder.close()
    assert time.monotonic() - started < 5  # not the outage's 30 s waits
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-1].startswith("stopping with 2 attempts not recorded"), lines
    assert not [r for r in caplog.records if r.exc_info]


def test_heartbeats_and_chores_log_an_outage_once_and_its_end_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Beats every 0.05 s and a prune chore every 0.05 s against a database that refuses connections, then the
    same session factory bound to a working database: one line for both when the outage starts (none per
    failed try, none for the other loop), one when a try succeeds again; a chore's real fault keeps its
    traceback every time."""
    settings = Settings(
        database_url=NOWHERE, **key_settings(NOWHERE), attachments_dir=tmp_path, worker_heartbeat_s=0.05
    )
    away = build_engine(settings)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    back = build_engine(Settings(database_url=url, **key_settings(url), attachments_dir=tmp_path))
    upgrade(back)
    sessions = sessionmaker(away)

    def broken() -> None:
        raise ValueError("a bug, not an outage")

    chores = [
        Chore("inbound-events-prune", 0.05, lambda: prune_inbound_events(sessions)),
        Chore("broken-chore", 0.05, broken),
    ]
    heartbeat = Heartbeat(settings, sessions, "w1", chores)
    with caplog.at_level(logging.INFO, logger="assessment_hub.worker"):
        heartbeat.start()
        time.sleep(0.8)  # ~15 beats and prunes fail
        outage_lines = [r.getMessage() for r in caplog.records]
        sessions.configure(bind=back)  # the database answers again
        time.sleep(0.5)
        heartbeat.stop()
    away.dispose()
    lines = [r.getMessage() for r in caplog.records]
    said = [line for line in lines if "the database" in line]
    assert len(said) == 2, lines
    assert said[0].startswith("heartbeat: the database cannot be used (") and "refused" in said[0]
    # its own pace (0.05 s here), not the claim loop's waits; the first to fail of the beat and the chore
    assert said[0].endswith(
        ("; trying again every 0.05 s", "seen first by its inbound-events-prune chore, which tries again every 0.05 s")
    ), said
    assert said[1].startswith("heartbeat: the database answers again (after ") and " in 2 loops over " in said[1], said
    assert said[0] in outage_lines and said[1] not in outage_lines
    faults = [r for r in caplog.records if r.getMessage() == "broken-chore failed"]
    assert len(faults) >= 5 and all(r.exc_info for r in faults)  # a fault: its traceback, every time
    assert not [r for r in caplog.records if r.exc_info and not r.getMessage().startswith("broken-chore")]
    with unit_of_work(sessionmaker(back)) as session:  # the first beat after the outage registered the worker
        assert session.get(WorkerHeartbeatRow, "w1") is None  # ... and stop() removed it again
    back.dispose()


class CuttableLink:
    """A TCP forwarder on a loopback port to ``target`` that a test can cut (every connection through it
    dropped, new ones refused: the database gone, as a restart or a network cut shows it to the hub) and
    restore on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        assert listener is not None
        listener.close()  # new connections: refused
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:  # connections in use: dropped
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.mark.subprocess
@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs ASSESSMENT_HUB_TEST_POSTGRES_URL (a database reached over TCP)")
def test_a_worker_process_logs_one_outage_once_for_all_its_loops(tmp_path: Path) -> None:
    """The real ``assessment-hub worker`` on PostgreSQL through a link the test cuts for a few seconds: its
    claim loop, heartbeat (every 0.2 s) and ``LISTEN`` connection all fail meanwhile, and the worker says so in
    one line, and once the link is back in one more, counting the failed tries of several loops; no
    traceback; it still delivers afterwards (an order's webhook reaches the receiver)."""
    assert POSTGRES_URL
    with temporary_postgres_database(POSTGRES_URL) as direct:
        url = make_url(direct)
        settings = Settings(database_url=direct, attachments_dir=tmp_path / "att", **key_settings(direct))
        engine = build_engine(settings)
        upgrade(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        receiver = VendorReceiver()
        link = CuttableLink((url.host or "127.0.0.1", url.port or 5432))
        through = url.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False)
        env = {
            **os.environ,
            "ASSESSMENT_HUB_DATABASE_URL": through,
            "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
            "ASSESSMENT_HUB_WORKER_HEARTBEAT_S": "0.2",
            "ASSESSMENT_HUB_WORKER_POLL_S": "0.05",
            "ASSESSMENT_HUB_LOG_FORMAT": "console",
            **key_env(direct),
        }
        env.pop("ASSESSMENT_HUB_WORKER_METRICS_PORT", None)
        with serve_in_thread(receiver.app()) as base:
            receiver.url = f"{base}/hooks"
            with unit_of_work(sessions) as session:
                integration = create_integration(session, "sandbox", "Outage Org")
                set_packages(
                    session, integration.id, [PackageIn(id="1001", name="T", description="d", type="SKILLS_TEST")]
                )
                _, receiver.secret = create_endpoint(session, settings.cipher, receiver.url)
            output = tmp_path / "worker.log"
            with output.open("w") as sink:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "assessment_hub.cli", "worker"],
                    env=env,
                    cwd=tmp_path,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            try:

                def said(text: str) -> int:
                    assert worker.poll() is None, output.read_text()
                    return output.read_text().count(text)

                wait_until(
                    lambda: said("delivery worker") and "started" in output.read_text(), timeout=60, what="start"
                )
                time.sleep(1.0)  # the heartbeat has beaten, the LISTEN connection listens
                link.cut()
                wait_until(lambda: said("the database cannot be used"), timeout=30, what="the outage's line")
                time.sleep(3.5)  # claims at 0, 1, 3 s; beats every 0.2 s; LISTEN at 0, 1, 3 s
                link.restore()
                wait_until(lambda: said("the database answers again"), timeout=60, what="the recovery line")
                with unit_of_work(sessions) as session:
                    create_sandbox_order(session, integration.id, "1001", seed=1)
                wait_until(lambda: len(receiver.received) == 1, timeout=30, what="the webhook after the outage")
                time.sleep(1.0)  # every loop has had another try
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
                link.cut()
        engine.dispose()
    log = output.read_text()
    assert worker.returncode == 0, log
    assert "Traceback" not in log, log
    down = [line for line in log.splitlines() if "the database cannot be used" in line]
    back = [line for line in log.splitlines() if "the database answers again" in line]
    assert len(down) == 1 and len(back) == 1, log
    assert "delivery worker: the database cannot be used (" in down[0] and "seen first by its " in down[0], down
    loops = re.search(r"after (\d+) failed tries in (\d+) loops over", back[0])
    assert loops is not None and int(loops.group(2)) >= 2, back  # several loops failed, one line said so
    assert receiver.all_verified()
