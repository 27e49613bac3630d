"""The delivery worker while its database cannot be used (delivery.outage): one warning per outage instead of a
traceback every poll, tries ever less often (1, 2, 4 ... 30 s), one line when the database answers again,
and the attempts finished meanwhile kept and recorded once it does."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.heartbeat import Chore, Heartbeat, WorkerHeartbeatRow
from assessment_hub.delivery.jobs import Finished
from assessment_hub.delivery.outage import Outage
from assessment_hub.delivery.recording import RecorderThread
from assessment_hub.delivery.senders import Outcome
from assessment_hub.delivery.states import SendStatus
from assessment_hub.delivery.worker import DeliveryWorker
from assessment_hub.privacy.retention import prune_inbound_events
from tests.support import key_settings

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
    claims = [r for r in caplog.records if r.getMessage().startswith("delivery worker: ")]
    assert len(claims) == 1 and "the database cannot be used" in claims[0].getMessage()
    assert 2 <= worker._claim_outage.failures <= 4
    assert not [r.getMessage() for r in caplog.records if r.exc_info]  # no traceback at all
    listening = [r for r in caplog.records if r.getMessage().startswith("listening for new deliveries")]
    assert len(listening) == 1, [r.getMessage() for r in listening]


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
    assert [line.split(":")[0] for line in lines] == ["recording delivery attempts"] * 2, lines
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
    same session factory bound to a working database: one line each when the outage starts (none per failed
    try), one each when a try succeeds again; a chore's real fault keeps its traceback every time."""
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
    beats = [line for line in lines if line.startswith("heartbeat")]
    prunes = [line for line in lines if line.startswith("inbound-events-prune")]
    assert len(beats) == 2 and len(prunes) == 2, lines
    assert beats[0].startswith("heartbeat: the database cannot be used (") and "refused" in beats[0]
    assert prunes[0].startswith("inbound-events-prune: the database cannot be used (")
    assert beats[0].endswith("; trying again every 0 s")  # its own pace (0.05 s here), not the claim loop's waits
    assert beats[1].startswith("heartbeat: the database answers again (after ")
    assert prunes[1].startswith("inbound-events-prune: the database answers again (after ")
    assert beats[0] in outage_lines and prunes[0] in outage_lines and beats[1] not in outage_lines
    faults = [r for r in caplog.records if r.getMessage() == "broken-chore failed"]
    assert len(faults) >= 5 and all(r.exc_info for r in faults)  # a fault: its traceback, every time
    assert not [r for r in caplog.records if r.exc_info and not r.getMessage().startswith("broken-chore")]
    with unit_of_work(sessionmaker(back)) as session:  # the first beat after the outage registered the worker
        assert session.get(WorkerHeartbeatRow, "w1") is None  # ... and stop() removed it again
    back.dispose()
