"""Claiming: which outbox rows a worker takes, and giving back the ones it did not send.

Claimable: rows that are ``pending`` and due, or ``in_flight`` with an expired lease (their worker died),
oldest due first. On PostgreSQL the claim is one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)``
through psycopg (``delivery.sql_pg``: one round trip), so any number of worker processes on any number of
machines can run; on SQLite the claim runs in a ``BEGIN IMMEDIATE`` transaction, so claims are serialized. A claimed row is ``in_flight`` with a lease (``worker_lease_s``) and the worker's id.

Per-order revision order: a write-back is not claimed while an older write-back of the same order is
still pending or in flight (docs/delivery.md).

SQLite's statements are Core, built once at import (the claim runs for every batch of the hot path).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Subquery, Table, and_, bindparam, exists, or_, select, union_all, update
from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.db.driver import autocommit
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery import sql_pg
from assessment_hub.delivery.jobs import ClaimedRow
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.delivery.states import UNFINISHED_STATES, DeliveryState
from assessment_hub.kit.timestamps import utcnow


class Claimer:
    """Claims for the worker ``worker_id``: one short write transaction per ``claim``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        read_sessions: sessionmaker[Session],
        worker_id: str,
        lease_s: float,
        *,
        postgres: bool,
    ) -> None:
        self.sessions = sessions
        self.read_sessions = read_sessions
        self.worker_id = worker_id
        self.lease_s = lease_s
        self.postgres = postgres

    def claim(self, limit: int) -> list[ClaimedRow]:
        """Claim up to ``limit`` due rows (fewer: nothing else is due), leased for ``lease_s`` from now.

        PostgreSQL: one statement in one round trip (``delivery.sql_pg``); SQLite: the Core statements below
        in one ``BEGIN IMMEDIATE`` transaction."""
        now = utcnow()
        lease_until = now + timedelta(seconds=self.lease_s)
        if self.postgres:
            with autocommit(self.sessions.kw["bind"]) as dbapi:
                return sql_pg.claim(dbapi, worker_id=self.worker_id, limit=limit, now=now, lease_until=lease_until)
        with unit_of_work(self.sessions) as session:
            conn = session.connection()
            rows = conn.execute(_CLAIM, {"b_now": now, "b_limit": limit}).all()
            if rows:
                conn.execute(
                    _MARK_CLAIMED,
                    {
                        "ids": [row.id for row in rows],
                        "b_worker": self.worker_id,
                        "b_now": now,
                        "b_lease_until": lease_until,
                    },
                )
        return [_claimed(row, lease_until) for row in rows]

    def held(self, outbox_id: int) -> ClaimedRow | None:
        """The row ``outbox_id`` if this worker holds it (``in_flight``, claimed by it), else None."""
        with self.read_sessions() as session:
            row = session.execute(_OUTBOX_FOR_JOB, {"b_id": outbox_id}).first()
        if row is None or row.state != DeliveryState.IN_FLIGHT or row.claimed_by != self.worker_id:
            return None
        return _claimed(row, row.lease_until)

    def release(self, outbox_ids: list[int]) -> None:
        """Give back claimed rows that were not sent: ``pending`` again, due as before, no attempt."""
        with unit_of_work(self.sessions) as session:
            session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(outbox_ids),
                    OutboxRow.state == DeliveryState.IN_FLIGHT,
                    OutboxRow.claimed_by == self.worker_id,
                )
                .values(state=DeliveryState.PENDING, claimed_by=None, lease_until=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )


def _claimed(row: Any, lease_until: datetime | None) -> ClaimedRow:
    """A row of ``_CLAIM`` or ``_OUTBOX_FOR_JOB`` as the worker holds it."""
    return ClaimedRow(
        id=row.id,
        kind=row.kind,
        action=row.action,
        integration_id=row.integration_id,
        order_id=row.order_id,
        revision_id=row.revision_id,
        endpoint_id=row.endpoint_id,
        body=row.body,
        lease_until=lease_until,
    )


_outbox = cast(Table, OutboxRow.__table__)
_older = _outbox.alias("older")
# per-order revision order: no write-back while an older one of its order is pending or in flight
_IN_ORDER = or_(
    _outbox.c.kind != "writeback",
    ~exists().where(
        _older.c.order_id == _outbox.c.order_id,
        _older.c.kind == "writeback",
        _older.c.id < _outbox.c.id,
        _older.c.state.in_(UNFINISHED_STATES),
    ),
)
_CLAIMED_COLUMNS = (
    _outbox.c.id,
    _outbox.c.kind,
    _outbox.c.action,
    _outbox.c.integration_id,
    _outbox.c.order_id,
    _outbox.c.revision_id,
    _outbox.c.endpoint_id,
    _outbox.c.body,
    _outbox.c.next_attempt_at,
)


def _oldest_due(condition: ColumnElement[bool]) -> Subquery:
    return (
        select(*_CLAIMED_COLUMNS)
        .where(condition, _IN_ORDER)
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(bindparam("b_limit"))
        .subquery()
    )


# Two legs, each read in index order (``ix_outbox_due``) and stopped at the limit, then merged: one query
# with ``state = pending OR state = in_flight`` read every due row and sorted them all, so a claim cost grew
# with the backlog (6,000 pending rows: 2.2 ms per claim on SQLite, 7.8 ms on PostgreSQL; now ~0.02 ms) and
# a worker that fell behind fell further behind (bench/NOTES.md, "The claim and the backlog").
_pending = _oldest_due(and_(_outbox.c.state == DeliveryState.PENDING, _outbox.c.next_attempt_at <= bindparam("b_now")))
_expired = _oldest_due(and_(_outbox.c.state == DeliveryState.IN_FLIGHT, _outbox.c.lease_until < bindparam("b_now")))
_due = union_all(select(_pending), select(_expired)).subquery()
_CLAIM = select(_due).order_by(_due.c.next_attempt_at, _due.c.id).limit(bindparam("b_limit"))
_MARK_CLAIMED = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state=DeliveryState.IN_FLIGHT,
        claimed_by=bindparam("b_worker"),
        updated_at=bindparam("b_now"),
        lease_until=bindparam("b_lease_until"),
    )
)
_OUTBOX_FOR_JOB = select(
    _outbox.c.id,
    _outbox.c.kind,
    _outbox.c.action,
    _outbox.c.integration_id,
    _outbox.c.order_id,
    _outbox.c.revision_id,
    _outbox.c.endpoint_id,
    _outbox.c.body,
    _outbox.c.state,
    _outbox.c.claimed_by,
    _outbox.c.lease_until,
).where(_outbox.c.id == bindparam("b_id"))
