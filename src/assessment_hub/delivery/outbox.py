"""Writing write-back messages into the outbox, inside the caller's transaction.

A newer write-back for an order supersedes the older ones that have not been sent yet (state
``pending``): the ATS only needs the latest revision. One already in flight is left alone; the worker
will not start the newer one until it has finished (per-order revision order, see ``delivery.claiming``).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from assessment_hub.delivery.models import OutboxRow
from assessment_hub.delivery.states import DeliveryState
from assessment_hub.kit.timestamps import utcnow


def enqueue_writeback(
    session: Session, *, integration_id: str, order_id: str, action: str, revision_id: str | None = None
) -> OutboxRow:
    """Queue a ``result`` (of ``revision_id``) or ``rejection`` write-back to the order's ATS."""
    now = utcnow()
    if action == "result":
        session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.order_id == order_id,
                OutboxRow.kind == "writeback",
                OutboxRow.action == "result",
                OutboxRow.state == DeliveryState.PENDING,
            )
            .values(state=DeliveryState.SUPERSEDED, updated_at=now, finished_at=now)
            .execution_options(synchronize_session=False)
        )
    row = OutboxRow(
        kind="writeback",
        action=action,
        integration_id=integration_id,
        order_id=order_id,
        revision_id=revision_id,
        state=DeliveryState.PENDING,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


_outbox = cast(Table, OutboxRow.__table__)
_SUPERSEDE_RESULTS = (
    update(_outbox)
    .where(
        _outbox.c.order_id == bindparam("b_order_id"),
        _outbox.c.kind == "writeback",
        _outbox.c.action == "result",
        _outbox.c.state == DeliveryState.PENDING,
    )
    .values(state=DeliveryState.SUPERSEDED, updated_at=bindparam("b_now"), finished_at=bindparam("b_now"))
)
_INSERT_WRITEBACK = insert(_outbox)


def enqueue_result_writeback(session: Session, *, integration_id: str, order_id: str, revision_id: str) -> None:
    """``enqueue_writeback(..., action="result")`` in two Core statements built once (the result write
    path's hot spot): supersede the order's pending result write-backs, queue the new one. Returns nothing."""
    from assessment_hub.delivery.wakeup import note_outbox_added

    now = utcnow()
    conn = session.connection()
    conn.execute(_SUPERSEDE_RESULTS, {"b_order_id": order_id, "b_now": now})
    conn.execute(
        _INSERT_WRITEBACK,
        {
            "kind": "writeback",
            "action": "result",
            "integration_id": integration_id,
            "order_id": order_id,
            "revision_id": revision_id,
            "endpoint_id": None,
            "event_id": None,
            "body": None,
            "state": DeliveryState.PENDING,
            "next_attempt_at": now,
            "lease_until": None,
            "claimed_by": None,
            "attempts": 0,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
            "finished_at": None,
        },
    )
    note_outbox_added(session)
