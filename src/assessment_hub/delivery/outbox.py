"""Writing write-back messages into the outbox, inside the caller's transaction.

A newer write-back for an order supersedes the older ones that have not been sent yet (state
``pending``): the ATS only needs the latest revision. One already in flight is left alone; the worker
will not start the newer one until it has finished (per-order revision order, see ``delivery.claiming``).
"""

from __future__ import annotations

from sqlalchemy import update
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
