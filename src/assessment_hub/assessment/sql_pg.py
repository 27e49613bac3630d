"""The result write on PostgreSQL, through psycopg in pipeline mode: two round trips, the commit included.

``service.record_result`` / ``service.accept_result`` call ``write_result`` on PostgreSQL (SQLite:
``assessment.sql_sqlite``). Same guarantees as there:

- round trip 1 (``BEGIN``, ``_LOCK_ORDER``, ``_LATEST_REVISION``, one sync): the order row is locked
  ``FOR UPDATE``; the latest revision is read by a second statement, which PostgreSQL runs only once the
  lock is held and with a fresh snapshot (READ COMMITTED), so it sees what a concurrent writer that held
  the lock before us committed: revision numbers follow each other without gaps (a single statement
  joining the two would read the revision with the snapshot taken before it waited for the lock);
- the status rule, the revision number and the ``completed_at`` correction are decided in Python
  (``service.revision_values``, shared with SQLite);
- round trip 2 (one sync): insert the revision and its attachments, point the order at it, supersede
  the order's pending result write-backs and queue the new one (``delivery.outbox``'s statements
  spelled for the driver), optionally take the integration's notices, ``NOTIFY`` the workers
  (``delivery.listening``), optionally ``COMMIT``. An error in
  any of them aborts the pipeline and the transaction: nothing of the write stays.

Measured (bench/NOTES.md, "Result write on PostgreSQL"): the SQLAlchemy Core path cost 7+ round trips and
~3.4 ms of client CPU per result; this path spends its CPU in psycopg's adaptation only.

Parameters go through psycopg (``%(name)s``); instants are bound as naive UTC, as ``db.base.UTCDateTime``
stores them (a ``timestamp without time zone`` column would otherwise convert an aware value with the
session's ``TimeZone``); JSON documents as ``Json`` for the ``json`` columns (``attributes``,
``remote_fields``) and ``Jsonb`` for ``warnings``, serialized by ``json.dumps`` as SQLAlchemy's
``JSON``/``JSONB`` bind them (``None`` as a JSON ``null`` like SQLAlchemy's default ``none_as_null=False``);
``remote_fields`` as the vendor's own JSON text when the result carries it
(``NormalizedResult.remote_fields_text``), which the ``json`` column keeps byte for byte (as SQLite's text
column does) and the listing splices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.pq import TransactionStatus
from psycopg.types.json import Json, Jsonb

from assessment_hub.assessment.attachments import StoredAttachment, new_attachment_rows
from assessment_hub.assessment.records import AttachmentRecord, RevisionRecord
from assessment_hub.assessment.results import NormalizedResult
from assessment_hub.concurrency.slots import PG_TAKE_IN_TRANSACTION, SlotInWrite, limit_message
from assessment_hub.db.driver import NOTIFY_CHANNEL
from assessment_hub.delivery.states import DeliveryState
from assessment_hub.errors import ConcurrencyLimitExceeded, NotFound
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.request_context import current_request_id

_LOCK_ORDER = """
SELECT id, status FROM orders WHERE id = %(order_id)s AND integration_id = %(integration_id)s FOR UPDATE
"""
_LATEST_REVISION = """
SELECT r.revision, r.status, r.completed_at
FROM orders o JOIN result_revisions r ON r.id = o.latest_result_id
WHERE o.id = %(order_id)s
"""
_INSERT_REVISION = """
INSERT INTO result_revisions
    (id, order_id, revision, status, score, max_score, result_url, completed_at,
     attributes, remote_fields, warnings, created_at)
VALUES
    (%(id)s, %(order_id)s, %(revision)s, %(status)s, %(score)s, %(max_score)s, %(result_url)s, %(completed_at)s,
     %(attributes)s, %(remote_fields)s, %(warnings)s, %(created_at)s)
"""
_INSERT_ATTACHMENT = """
INSERT INTO attachments (id, revision_id, position, name, content_type, sha256, size_bytes, source_url)
VALUES (%(id)s, %(revision_id)s, %(position)s, %(name)s, %(content_type)s, %(sha256)s, %(size_bytes)s, %(source_url)s)
"""
_SET_LATEST_RESULT = """
UPDATE orders SET status = %(status)s, latest_result_id = %(revision_id)s, updated_at = %(now)s
WHERE id = %(order_id)s
"""
_SUPERSEDE_RESULTS = f"""
UPDATE outbox SET state = '{DeliveryState.SUPERSEDED}', updated_at = %(now)s, finished_at = %(now)s
WHERE order_id = %(order_id)s AND kind = 'writeback' AND action = 'result' AND state = '{DeliveryState.PENDING}'
"""
_QUEUE_WRITEBACK = f"""
INSERT INTO outbox
    (kind, action, integration_id, order_id, revision_id, state, next_attempt_at, attempts, created_at, updated_at,
     request_id)
VALUES
    ('writeback', 'result', %(integration_id)s, %(order_id)s, %(revision_id)s, '{DeliveryState.PENDING}', %(now)s,
     0, %(now)s, %(now)s, %(request_id)s)
"""
_TAKE_NOTICES = """
WITH taken AS (
    UPDATE notices SET delivered_at = %(now)s
    WHERE integration_id = %(integration_id)s AND delivered_at IS NULL
      AND (order_id IS NULL OR order_id = %(order_id)s)
    RETURNING id, message
)
SELECT message FROM taken ORDER BY id
"""
# Taking notices with one UPDATE ... RETURNING (SQLite: SELECT, then UPDATE in its exclusive write
# transaction): two concurrent writers cannot both take a notice, the second one's UPDATE re-checks
# ``delivered_at`` once the first has committed.

RevisionValues = Callable[[str, Any], dict[str, Any]]
"""``(order_status, latest) -> values of the new revision``: ``service.revision_values`` bound to one
result; ``latest`` has ``revision``, ``status``, ``completed_at`` (aware UTC) or is None. Raises
``InputInvalid`` for a forbidden status change."""


def naive_utc(value: datetime | None) -> datetime | None:
    """``value`` as the naive UTC instant the ``timestamp`` columns hold."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


class _Latest:
    __slots__ = ("revision", "status", "completed_at")

    def __init__(self, revision: int, status: str, completed_at: datetime | None) -> None:
        self.revision = revision
        self.status = status
        self.completed_at = None if completed_at is None else completed_at.replace(tzinfo=UTC)


def _as_is(text: str) -> str:
    return text


def _queue_writes(
    cursor: Any,
    keys: dict[str, str],
    values: dict[str, Any],
    attachments: Sequence[StoredAttachment],
    remote_fields_text: str | None,
) -> list[dict[str, Any]]:
    """Queue round trip 2's writes on ``cursor`` (in the pipeline); returns the attachments' values."""
    attachment_values = new_attachment_rows(values["id"], attachments)
    now = naive_utc(values["created_at"])
    cursor.execute(
        _INSERT_REVISION,
        {
            **values,
            "completed_at": naive_utc(values["completed_at"]),
            "attributes": Json(values["attributes"]),
            "remote_fields": (
                Json(values["remote_fields"]) if remote_fields_text is None else Json(remote_fields_text, dumps=_as_is)
            ),
            "warnings": Jsonb(values["warnings"]),
            "created_at": now,
        },
    )
    if attachment_values:
        cursor.executemany(_INSERT_ATTACHMENT, attachment_values)
    changed = {
        **keys,
        "status": values["status"],
        "revision_id": values["id"],
        "now": now,
        "request_id": current_request_id(),  # for the write-back's delivery lines (OutboxRow.request_id)
    }
    cursor.execute(_SET_LATEST_RESULT, changed)
    cursor.execute(_SUPERSEDE_RESULTS, changed)
    cursor.execute(_QUEUE_WRITEBACK, changed)
    return attachment_values


def write_result(
    dbapi: Any,
    *,
    integration_id: str,
    order_id: str,
    result: NormalizedResult,
    attachments: Sequence[StoredAttachment],
    revision_values: RevisionValues,
    take_notices: bool = False,
    commit: bool = False,
    slot: SlotInWrite | None = None,
) -> tuple[RevisionRecord, list[str]]:
    """Store ``result`` as the order's next revision on the psycopg connection ``dbapi`` (in a transaction:
    the one in progress, or one begun here). Returns the stored revision and, with ``take_notices``, the
    integration's undelivered notices (marked delivered). With ``commit`` the transaction is committed in
    the second round trip (durable when this returns). With ``slot``, the integration's write slot is taken
    in round trip 1 (``concurrency.slots.PG_TAKE_IN_TRANSACTION``, held until the transaction ends) and
    ``slot.remaining`` set. Raises ``ConcurrencyLimitExceeded`` (no slot free), ``NotFound`` (unknown order
    of this integration) and ``InputInvalid`` (forbidden status change) after the first round trip, with
    nothing written (the caller rolls back), and psycopg's errors for a failed statement."""
    keys = {"order_id": order_id, "integration_id": integration_id}
    # psycopg syncs the pipeline after the BEGIN it sends by itself (one more round trip): when this call
    # commits a transaction of its own, the connection goes to autocommit and the pipeline carries our
    # BEGIN and COMMIT like any other statement.
    own_transaction = commit and not dbapi.autocommit and dbapi.info.transaction_status == TransactionStatus.IDLE
    if own_transaction:
        dbapi.autocommit = True
    try:
        with dbapi.pipeline() as pipeline:
            lock, latest_cursor, notices_cursor = dbapi.cursor(), dbapi.cursor(), dbapi.cursor()
            if own_transaction:
                lock.execute("BEGIN")
            if slot is not None:
                notices_cursor.execute(PG_TAKE_IN_TRANSACTION, {"key": slot.integration_key, "limit": slot.limit})
            lock.execute(_LOCK_ORDER, keys)
            latest_cursor.execute(_LATEST_REVISION, keys)
            pipeline.sync()
            if slot is not None:
                taken, in_flight = notices_cursor.fetchone()
                slot.remaining = max(slot.limit - int(in_flight), 0)
                if taken is None:
                    raise ConcurrencyLimitExceeded(limit_message(slot.limit))
            order = lock.fetchone()
            if order is None:
                raise NotFound(f"No assessment order with id {order_id!r} in integration {integration_id!r}.")
            row = latest_cursor.fetchone()
            values = revision_values(order[1], _Latest(*row) if row is not None else None)
            attachment_values = _queue_writes(lock, keys, values, attachments, result.remote_fields_text)
            if take_notices:
                notices_cursor.execute(_TAKE_NOTICES, {**keys, "now": naive_utc(utcnow())})
            lock.execute(f"NOTIFY {NOTIFY_CHANNEL}")  # wakes the workers of every process, at commit
            if commit:
                lock.execute("COMMIT")
            # leaving the pipeline sends the one sync of round trip 2 (a sync of our own would add a third)
        notices = [message for (message,) in notices_cursor.fetchall()] if take_notices else []
    finally:
        if own_transaction:
            if dbapi.info.transaction_status != TransactionStatus.IDLE and not dbapi.closed:
                dbapi.execute("ROLLBACK")  # a failed write: nothing of it stays
            dbapi.autocommit = False
    record = RevisionRecord(**values, attachments=[AttachmentRecord(**a) for a in attachment_values])
    return record, notices
