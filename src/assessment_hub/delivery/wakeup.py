"""Wake workers as soon as a transaction that added outbox rows commits.

In-process: the worker's wake event is set after the commit. PostgreSQL: the transaction also sends
``NOTIFY assessment_hub_outbox`` before it commits (one more statement for such a write; the result
write sends it in its own pipeline, ``assessment.sql_pg``, and marks the session ``outbox_notified``), which
wakes workers in other processes and on other machines (``delivery.listening``). Without this a worker
finds new rows on its next poll (``worker_poll_s``).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.db.driver import NOTIFY_CHANNEL
from assessment_hub.delivery.models import OutboxRow


def note_outbox_added(session: Session, *, notified: bool = False) -> None:
    """For outbox rows inserted with Core statements (not seen by ``after_flush``): wake on commit.
    ``notified``: the transaction has sent its ``NOTIFY`` itself."""
    session.info["outbox_added"] = True
    if notified:
        session.info["outbox_notified"] = True


def wake_on_outbox_commit(factory: sessionmaker[Session], wake: threading.Event) -> None:
    def after_flush(session: Session, _context: Any) -> None:
        if any(isinstance(obj, OutboxRow) for obj in session.new):
            session.info["outbox_added"] = True

    def before_commit(session: Session) -> None:
        if session.info.get("outbox_added") and not session.info.get("outbox_notified"):
            conn = session.connection()
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}")

    def after_commit(session: Session) -> None:
        session.info.pop("outbox_notified", None)
        if session.info.pop("outbox_added", False):
            wake.set()

    def after_rollback(session: Session) -> None:
        session.info.pop("outbox_notified", None)
        session.info.pop("outbox_added", None)

    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "before_commit", before_commit)
    event.listen(factory, "after_commit", after_commit)
    event.listen(factory, "after_soft_rollback", lambda session, _previous: after_rollback(session))
