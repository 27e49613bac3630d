"""Wake the in-process worker as soon as a transaction that added outbox rows commits.

Without this the worker finds new rows on its next poll (``worker_poll_s``); with it, the embedded
set-up delivers within milliseconds. Workers in other processes still find rows by polling.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.delivery.models import OutboxRow


def note_outbox_added(session: Session) -> None:
    """For outbox rows inserted with Core statements (not seen by ``after_flush``): wake on commit."""
    session.info["outbox_added"] = True


def wake_on_outbox_commit(factory: sessionmaker[Session], wake: threading.Event) -> None:
    def after_flush(session: Session, _context: Any) -> None:
        if any(isinstance(obj, OutboxRow) for obj in session.new):
            session.info["outbox_added"] = True

    def after_commit(session: Session) -> None:
        if session.info.pop("outbox_added", False):
            wake.set()

    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "after_commit", after_commit)
