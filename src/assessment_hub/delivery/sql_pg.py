"""The worker's claim and its most common recording on PostgreSQL, through psycopg.

Claim: one statement, one round trip (autocommit). Recording a batch of plain successes
(``record_successes``): one transaction in two round trips (pipeline mode), instead of SQLAlchemy's seven.

``Claimer.claim`` uses ``claim`` on PostgreSQL (SQLite keeps the Core ``SELECT`` + ``UPDATE`` in its
``BEGIN IMMEDIATE`` transaction, ``delivery.claiming``). The rules are the same, spelled once more here:

- claimable: ``pending`` and due, or ``in_flight`` with an expired lease (its worker died), oldest due first;
- per-order revision order: no write-back while an older write-back of its order is pending or in flight;
- ``FOR UPDATE SKIP LOCKED``: rows another worker is claiming or recording are skipped, never waited for,
  so any number of workers on any number of machines claim disjoint rows; a row changed and committed
  after this statement's snapshot is re-checked against the conditions before it is locked;
- the claimed rows become ``in_flight`` with this worker's id and lease in the same statement.

Instants are bound as naive UTC, as ``db.base.UTCDateTime`` stores them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from assessment_hub.delivery.jobs import ClaimedRow
from assessment_hub.delivery.observe import report_attempts
from assessment_hub.delivery.states import AttemptOutcome, DeliveryState

_PENDING, _IN_FLIGHT = DeliveryState.PENDING.value, DeliveryState.IN_FLIGHT.value
_IN_ORDER = f"""(o.kind <> 'writeback' OR NOT EXISTS (
            SELECT 1 FROM outbox older
            WHERE older.order_id = o.order_id AND older.kind = 'writeback' AND older.id < o.id
              AND older.state IN ('{_PENDING}', '{_IN_FLIGHT}')))"""
_CLAIM = f"""
WITH pending AS (
    SELECT o.id, o.next_attempt_at FROM outbox o
    WHERE o.state = '{_PENDING}' AND o.next_attempt_at <= %(now)s AND {_IN_ORDER}
    ORDER BY o.next_attempt_at, o.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    SELECT o.id, o.next_attempt_at FROM outbox o
    WHERE o.state = '{_IN_FLIGHT}' AND o.lease_until < %(now)s AND {_IN_ORDER}
    ORDER BY o.next_attempt_at, o.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), due AS (
    SELECT id FROM (SELECT * FROM pending UNION ALL SELECT * FROM expired) AS both_legs
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
)
UPDATE outbox
SET state = '{_IN_FLIGHT}', claimed_by = %(worker)s, updated_at = %(now)s, lease_until = %(lease_until)s
FROM due
WHERE outbox.id = due.id
RETURNING outbox.id, outbox.kind, outbox.action, outbox.integration_id, outbox.order_id, outbox.revision_id,
          outbox.endpoint_id, outbox.body, outbox.next_attempt_at
"""
# Two legs, each read in index order (``ix_outbox_due``) and stopped at the limit, then merged (as on
# SQLite, ``delivery.claiming``): one leg with ``pending OR in_flight`` read and sorted every due row, so
# a claim cost grew with the backlog (6,000 pending: 7.8 ms per claim). A leg may lock up to ``limit``
# rows the merge then leaves: they stay as they were, unlocked at the statement's commit.


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def claim(dbapi: Any, *, worker_id: str, limit: int, now: datetime, lease_until: datetime) -> list[ClaimedRow]:
    """Claim up to ``limit`` due rows on the autocommit psycopg connection ``dbapi`` (committed when this
    returns), oldest due first (``UPDATE ... RETURNING`` has no order of its own: sorted here)."""
    rows = dbapi.execute(
        _CLAIM, {"now": _naive(now), "limit": limit, "worker": worker_id, "lease_until": _naive(lease_until)}
    ).fetchall()
    rows.sort(key=lambda row: (row[8], row[0]))
    return [
        ClaimedRow(
            id=row[0],
            kind=row[1],
            action=row[2],
            integration_id=row[3],
            order_id=row[4],
            revision_id=row[5],
            endpoint_id=row[6],
            body=row[7],
            lease_until=lease_until,
        )
        for row in rows
    ]


# ---------------------------------------------------------------------------------------------- recording

_LOCK_RECORDED = (
    "SELECT id, state, claimed_by, kind, action, order_id, request_id FROM outbox WHERE id = ANY(%(ids)s) "
    "ORDER BY id FOR UPDATE"
)
_INVALID_INTEGRATION = """
SELECT 1 FROM integrations
WHERE status = 'INVALID' AND deleted_at IS NULL
  AND id IN (SELECT integration_id FROM outbox WHERE id = ANY(%(ids)s) AND kind = 'writeback')
LIMIT 1
"""
_INSERT_ATTEMPT = """
INSERT INTO delivery_attempts
    (outbox_id, worker_id, started_at, finished_at, duration_ms, http_status, response_excerpt, error_class,
     error_message, request_text, outcome)
VALUES
    (%(outbox_id)s, %(worker_id)s, %(started_at)s, %(finished_at)s, %(duration_ms)s, %(http_status)s,
     %(response_excerpt)s, %(error_class)s, %(error_message)s, %(request_text)s, %(outcome)s)
"""
_COUNTED = "(SELECT count(*) FROM delivery_attempts a WHERE a.outbox_id = outbox.id)"
_MARK_SUCCEEDED = f"""
UPDATE outbox
SET state = '{DeliveryState.SUCCEEDED.value}', lease_until = NULL, finished_at = %(now)s, last_error = NULL,
    attempts = {_COUNTED}, updated_at = %(now)s
WHERE id = ANY(%(ids)s)
"""
_RECOUNT = f"UPDATE outbox SET attempts = {_COUNTED}, updated_at = %(now)s WHERE id = ANY(%(ids)s)"


def record_successes(dbapi: Any, *, worker_id: str, items: list[Any], now: datetime) -> bool:
    """Record ``items`` (``delivery.jobs.Finished``, every one a plain success: ``succeeded``, no
    ``assessment_url``) in one transaction of two round trips on the autocommit psycopg connection ``dbapi``,
    as ``AttemptRecorder.record_batch`` would: lock the rows (in id order), insert one attempt each
    (``succeeded``, or ``late-succeeded`` for a row no longer this worker's claim), mark this worker's rows
    ``succeeded``, recount every touched row's attempts, commit.

    Returns False, with nothing written, when a write-back's integration is ``INVALID`` (its success makes it
    ``ACTIVE`` again and queues ``integration-state-changed``: the general path does that)."""
    ids = sorted({item.outbox_id for item in items})
    naive_now = _naive(now)
    with dbapi.pipeline() as pipeline:
        locked, invalid = dbapi.cursor(), dbapi.cursor()
        locked.execute("BEGIN")
        locked.execute(_LOCK_RECORDED, {"ids": ids})
        invalid.execute(_INVALID_INTEGRATION, {"ids": ids})
        pipeline.sync()
        rows = {row[0]: row for row in locked.fetchall()}
        if invalid.fetchone() is not None:
            locked.execute("ROLLBACK")
            return False
        mine = {i for i, row in rows.items() if row[1] == _IN_FLIGHT and row[2] == worker_id}
        attempts = [
            {
                "outbox_id": item.outbox_id,
                "worker_id": worker_id,
                "started_at": _naive(item.started_at),
                "finished_at": _naive(item.finished_at),
                "duration_ms": item.outcome.duration_ms
                or int((item.finished_at - item.started_at).total_seconds() * 1000),
                "http_status": item.outcome.http_status,
                "response_excerpt": item.outcome.response_excerpt,
                "error_class": item.outcome.error_class,
                "error_message": item.outcome.error_message,
                "request_text": item.outcome.request_text,
                "outcome": AttemptOutcome.SUCCEEDED.value
                if item.outbox_id in mine
                else AttemptOutcome.late(item.outcome.status).value,
            }
            for item in items
            if item.outbox_id in rows
        ]
        if attempts:
            locked.executemany(_INSERT_ATTEMPT, attempts)
            if mine:
                locked.execute(_MARK_SUCCEEDED, {"ids": sorted(mine), "now": naive_now})
            late = sorted(set(rows) - mine)
            if late:
                locked.execute(_RECOUNT, {"ids": late, "now": naive_now})
        locked.execute("COMMIT")
    # the attempt lines and metrics (delivery.observe): (id, kind, action, order_id, request_id) per row
    report_attempts(
        [
            (SimpleNamespace(id=r[0], kind=r[3], action=r[4], order_id=r[5], request_id=r[6]), a)
            for a in attempts
            for r in [rows[a["outbox_id"]]]
        ]
    )
    return True
