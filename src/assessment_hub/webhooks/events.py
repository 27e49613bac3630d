"""Event payloads sent to the vendor, in Kombo's shapes (kombo-contract.md §7): ``{id, type, data}``.

Event types:
- ``assessment:order-received``, ``inline-assessment:order-received`` (§7.3, §7.4);
- ``integration-created``, ``integration-deleted``, ``integration-state-changed`` (§7.5; the SDKs'
  ``Integration*WebhookPayload`` models);
- ``assessment:order-cancelled``: a hub extension, sent when the ATS cancels an order (Ashby's
  ``assessment.cancel``); same ``data`` as order-received, with ``status: CANCELLED``.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.assessment.models import OrderRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.timestamps import format_instant, utcnow

ORDER_RECEIVED = "assessment:order-received"
INLINE_ORDER_RECEIVED = "inline-assessment:order-received"
ORDER_CANCELLED = "assessment:order-cancelled"
INTEGRATION_CREATED = "integration-created"
INTEGRATION_DELETED = "integration-deleted"
INTEGRATION_STATE_CHANGED = "integration-state-changed"
EVENT_TYPES = (
    ORDER_RECEIVED,
    INLINE_ORDER_RECEIVED,
    ORDER_CANCELLED,
    INTEGRATION_CREATED,
    INTEGRATION_DELETED,
    INTEGRATION_STATE_CHANGED,
)


def order_data(order: OrderRow) -> dict[str, Any]:
    return {
        "id": order.id,
        "package_id": order.package_id,
        "status": order.status,
        "integration_id": order.integration_id,
        "candidate": order.candidate,
        "application": order.application,
        "job": order.job,
    }


def integration_data(row: IntegrationRow, *, deleted: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id,
        "tool": row.tool,
        "category": "ASSESSMENT",
        "end_user": {
            "organization_name": row.organization_name,
            "creator_email": row.creator_email,
            "origin_id": row.origin_id,
        },
    }
    if deleted:
        data["deleted_at"] = format_instant(row.deleted_at)
    return data


def integration_state_data(row: IntegrationRow) -> dict[str, Any]:
    """``integration-state-changed`` data: the integration's ``state`` (its status: ACTIVE, INVALID, INACTIVE)
    as of now. ``qa_status`` is PASSED and ``setup_status`` COMPLETED: a hub integration is usable from creation."""
    return {
        "integration_tool": row.tool,
        "integration_id": row.id,
        "integration_category": "ASSESSMENT",
        "end_user": {
            "organization_name": row.organization_name,
            "creator_email": row.creator_email,
            "origin_id": row.origin_id,
        },
        "qa_status": "PASSED",
        "setup_status": "COMPLETED",
        "state": row.status,
        "updated_at": format_instant(utcnow()),
    }
