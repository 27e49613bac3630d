"""The worker's claim on PostgreSQL, through psycopg: one statement, one round trip (autocommit).

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
from typing import Any

from assessment_hub.delivery.jobs import ClaimedRow
from assessment_hub.delivery.states import DeliveryState

_PENDING, _IN_FLIGHT = DeliveryState.PENDING.value, DeliveryState.IN_FLIGHT.value
_CLAIM = f"""
WITH due AS (
    SELECT o.id FROM outbox o
    WHERE ((o.state = '{_PENDING}' AND o.next_attempt_at <= %(now)s)
           OR (o.state = '{_IN_FLIGHT}' AND o.lease_until < %(now)s))
      AND (o.kind <> 'writeback' OR NOT EXISTS (
            SELECT 1 FROM outbox older
            WHERE older.order_id = o.order_id AND older.kind = 'writeback' AND older.id < o.id
              AND older.state IN ('{_PENDING}', '{_IN_FLIGHT}')))
    ORDER BY o.next_attempt_at, o.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox
SET state = '{_IN_FLIGHT}', claimed_by = %(worker)s, updated_at = %(now)s, lease_until = %(lease_until)s
FROM due
WHERE outbox.id = due.id
RETURNING outbox.id, outbox.kind, outbox.action, outbox.integration_id, outbox.order_id, outbox.revision_id,
          outbox.endpoint_id, outbox.body, outbox.next_attempt_at
"""


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
