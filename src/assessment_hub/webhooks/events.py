"""Event payloads sent to the vendor, in Kombo's shapes (kombo-contract.md §7): ``{id, type, data}``.

Event types:
- ``assessment:order-received``, ``inline-assessment:order-received`` (§7.3, §7.4);
- ``integration-created``, ``integration-deleted`` (§7.5);
- ``assessment:order-cancelled``: a hub extension, sent when the ATS cancels an order (Ashby's
  ``assessment.cancel``); same ``data`` as order-received, with ``status: CANCELLED``.
"""

from __future__ import annotations

from typing import Any

from assessment_hub.assessment.models import OrderRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.timestamps import format_instant

ORDER_RECEIVED = "assessment:order-received"
INLINE_ORDER_RECEIVED = "inline-assessment:order-received"
ORDER_CANCELLED = "assessment:order-cancelled"
INTEGRATION_CREATED = "integration-created"
INTEGRATION_DELETED = "integration-deleted"
EVENT_TYPES = (ORDER_RECEIVED, INLINE_ORDER_RECEIVED, ORDER_CANCELLED, INTEGRATION_CREATED, INTEGRATION_DELETED)


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
