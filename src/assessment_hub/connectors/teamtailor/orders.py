"""Teamtailor orders in the hub: find one by its partner-result id, create one from a partner event.

Per-order Teamtailor data lives in ``order.remote_data``: the raw webhook body as received, plus a
``hub`` sub-dict with what the write-back needs (``partner_result_id``, ``update_url``,
``partner_event_id``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from assessment_hub.assessment import service
from assessment_hub.assessment.models import OrderRow
from assessment_hub.connectors.callbacks import callback_allowed
from assessment_hub.connectors.teamtailor.mapping import unified_order
from assessment_hub.connectors.teamtailor.schemas import PartnerEvent
from assessment_hub.connectors.teamtailor.settings import TEAMTAILOR_HOSTS
from assessment_hub.integrations.notices import add_notice


def lock_partner_result(session: Session, integration_id: str, partner_result_id: str) -> None:
    """Serialize concurrent deliveries of one partner event (Teamtailor retries; PostgreSQL only:
    SQLite write transactions are already exclusive)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"teamtailor:{integration_id}:{partner_result_id}"},
        )


def find_order(session: Session, integration_id: str, partner_result_id: str) -> OrderRow | None:
    return session.scalar(
        select(OrderRow)
        .where(
            OrderRow.integration_id == integration_id,
            OrderRow.remote_data[("hub", "partner_result_id")].as_string() == partner_result_id,
        )
        .limit(1)
    )


def create_from_event(
    session: Session,
    integration_id: str,
    settings: dict[str, Any],
    package_id: str,
    event: PartnerEvent,
    raw: dict[str, Any],
) -> OrderRow:
    """Store the order (and queue the vendor's ``order-received``); warn the operator when the
    ``update-url`` is not on a Teamtailor host nor allowed."""
    assert event.partner_result is not None
    update_url = event.partner_result.update_url
    hub = {"partner_result_id": event.partner_result.id, "partner_event_id": event.id, "update_url": update_url}
    order = service.create_order(
        session, integration_id, package_id, remote_data={**raw, "hub": hub}, **unified_order(event)
    )
    if update_url and not callback_allowed(update_url, TEAMTAILOR_HOSTS, settings):
        add_notice(
            session,
            integration_id,
            (
                f"Teamtailor order {order.id}: the update-url {update_url!r} is not on a Teamtailor host; the hub will "
                "not send results there until its host[:port] is added to the integration's allowed_callback_hosts."
            ),
            order_id=order.id,
        )
    return order
