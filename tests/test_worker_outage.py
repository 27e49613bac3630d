"""The delivery worker while its database cannot be used (delivery.outage): one warning per outage instead of a
traceback every poll, tries ever less often (1, 2, 4 ... 30 s), one line when the database answers again."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.delivery.outage import Outage
from assessment_hub.delivery.worker import DeliveryWorker
from tests.support import key_settings

REFUSED = OperationalError("SELECT 1", {}, Exception("connection refused"))


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
    assert lines[0].startswith("claiming: the database cannot be used (") and "connection refused" in lines[0]
    assert lines[1] == "claiming: the database answers again (after 7 failed tries)"


def test_a_worker_without_its_database_warns_once_and_backs_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1: refused at once
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
