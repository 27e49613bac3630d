"""Inline orders: the ATS waits while the hub asks the vendor for the candidate's assessment URL.

Source: kombo-contract.md §7.4. The hub POSTs ``inline-assessment:order-received`` to each subscribed
endpoint, synchronously, within ``inline_timeout_s`` (ATSs give up after 15-30 s), and the first
``{"assessment_url": ...}`` answer wins. The message and every attempt are recorded like any outbox
delivery; a failed inline delivery is retried by the worker later (the order stays listed), but the
waiting ATS gets no URL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from assessment_hub.assessment.models import OrderRow
from assessment_hub.config import Settings
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.delivery.states import DeliveryState
from assessment_hub.delivery.worker import DeliveryWorker
from assessment_hub.kit.timestamps import utcnow
from assessment_hub.webhooks.events import INLINE_ORDER_RECEIVED, order_data
from assessment_hub.webhooks.service import enqueue_event

INLINE_WORKER_ID = "inline"


def deliver_inline(settings: Settings, sessions: sessionmaker[Session], order_id: str) -> str | None:
    """Send the inline event for a committed inline order; returns the vendor's assessment URL or None."""
    quick = settings.model_copy(update={"delivery_timeout_s": settings.inline_timeout_s})
    worker = DeliveryWorker(quick, sessions, worker_id=INLINE_WORKER_ID)
    with unit_of_work(sessions) as session:
        order = session.get(OrderRow, order_id)
        assert order is not None
        event_id = enqueue_event(
            session, INLINE_ORDER_RECEIVED, order_data(order), integration_id=order.integration_id, order_id=order.id
        )
        rows = session.query(OutboxRow).filter(OutboxRow.event_id == event_id).all()
        now = utcnow()
        # The lease covers the synchronous sends (one after the other, each within inline_timeout_s):
        # until it expires no background worker may claim these rows. If this process dies, the lease
        # expires and a worker retries them.
        lease_until = now + timedelta(seconds=settings.inline_timeout_s * len(rows) + settings.worker_lease_s)
        for row in rows:
            row.state, row.claimed_by, row.lease_until = DeliveryState.IN_FLIGHT, INLINE_WORKER_ID, lease_until
        ids = [row.id for row in rows]
    try:
        for outbox_id in ids:
            worker.process(outbox_id)
            with sessions() as session:
                url = session.get(OrderRow, order_id).assessment_url  # type: ignore[union-attr]
            if url:
                return url
        return None
    finally:
        worker.http.close()
