"""Teamtailor orders in the hub: find one by its partner-result id, create one from a partner event.

Per-order Teamtailor data lives in ``order.remote_data``: the raw webhook body as received, plus a
``hub`` sub-dict with what the write-back needs (``partner_result_id``, ``update_url``,
``partner_event_id``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from assessment_hub.assessment import intake
from assessment_hub.connectors.callbacks import callback_allowed
from assessment_hub.connectors.teamtailor.mapping import unified_order
from assessment_hub.connectors.teamtailor.schemas import PartnerEvent
from assessment_hub.connectors.teamtailor.settings import TEAMTAILOR_HOSTS

PARTNER_RESULT_ID = ("hub", "partner_result_id")
"""Where an order's ``remote_data`` holds the Teamtailor partner-result id it was created for."""


def lock_partner_result(session: Session, integration_id: str, partner_result_id: str) -> None:
    """Serialize concurrent deliveries of one partner event (Teamtailor retries)."""
    intake.lock_remote_id(session, integration_id, f"partner-result:{partner_result_id}")


def find_order(session: Session, integration_id: str, partner_result_id: str) -> intake.Order | None:
    """The order created for the partner result ``partner_result_id``, or None."""
    return intake.find_order_by_remote(session, integration_id, PARTNER_RESULT_ID, partner_result_id)


def create_from_event(
    session: Session,
    integration_id: str,
    settings: dict[str, Any],
    package_id: str,
    event: PartnerEvent,
    raw: dict[str, Any],
) -> intake.Order:
    """Store the order (and queue the vendor's ``order-received``); warn the operator when the
    ``update-url`` is not on a Teamtailor host nor allowed."""
    assert event.partner_result is not None
    update_url = event.partner_result.update_url
    hub = {"partner_result_id": event.partner_result.id, "partner_event_id": event.id, "update_url": update_url}
    order = intake.create_order(
        session, integration_id, package_id, unified_order(event), remote_data={**raw, "hub": hub}
    )
    if update_url and not callback_allowed(update_url, TEAMTAILOR_HOSTS, settings):
        intake.record_notice(
            session,
            integration_id,
            (
                f"Teamtailor order {order.id}: the update-url {update_url!r} is not on a Teamtailor host; the hub will "
                "not send results there until its host[:port] is added to the integration's allowed_callback_hosts."
            ),
            order_id=order.id,
        )
    return order
