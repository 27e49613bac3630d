"""The operator's overview: per integration, where its orders and deliveries stand, and what needs a human.

``overview(session)`` runs a handful of grouped queries (orders by integration and status; deliveries
waiting or dead; the newest result), whatever the number of integrations. The orders' count walks
``ix_orders_integration_status_created``: its cost grows with the number of orders (a full index scan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from assessment_hub.assessment.models import OrderRow, ResultRevisionRow
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.timestamps import utcnow


@dataclass
class IntegrationHealth:
    integration: IntegrationRow
    orders_by_status: dict[str, int] = field(default_factory=dict)
    pending_deliveries: int = 0
    dead_deliveries: int = 0
    oldest_pending_at: datetime | None = None
    last_order_at: datetime | None = None
    last_result_at: datetime | None = None
    credentials_refused: int = 0
    """Waiting or dead deliveries whose latest attempt was a credentials refusal (``needs_human``)."""

    @property
    def needs_human(self) -> bool:
        return self.dead_deliveries > 0 or self.credentials_refused > 0

    @property
    def oldest_pending_age_s(self) -> float | None:
        if self.oldest_pending_at is None:
            return None
        return max(0.0, (utcnow() - self.oldest_pending_at).total_seconds())

    @property
    def total_orders(self) -> int:
        return sum(self.orders_by_status.values())


@dataclass
class Overview:
    integrations: list[IntegrationHealth]
    """Those that need a human first (dead deliveries, credentials refused), then by creation."""
    dead_webhooks: int = 0
    """Dead vendor webhooks (no integration: e.g. to a deleted endpoint)."""

    @property
    def attention(self) -> list[IntegrationHealth]:
        return [health for health in self.integrations if health.needs_human]


def overview(session: Session) -> Overview:
    integrations = session.scalars(
        select(IntegrationRow).where(IntegrationRow.deleted_at.is_(None)).order_by(IntegrationRow.created_at)
    ).all()
    by_id = {row.id: IntegrationHealth(row) for row in integrations}
    for order_integration, status, count, last_created in session.execute(
        select(OrderRow.integration_id, OrderRow.status, func.count(), func.max(OrderRow.created_at)).group_by(
            OrderRow.integration_id, OrderRow.status
        )
    ):
        health = by_id.get(order_integration)
        if health is None:
            continue
        health.orders_by_status[status] = count
        last = _aware(last_created)
        if last is not None and (health.last_order_at is None or last > health.last_order_at):
            health.last_order_at = last
    for outbox_integration, state, count, oldest_created in session.execute(
        select(OutboxRow.integration_id, OutboxRow.state, func.count(), func.min(OutboxRow.created_at))
        .where(OutboxRow.state.in_(("pending", "in_flight", "dead")))
        .group_by(OutboxRow.integration_id, OutboxRow.state)
    ):
        health = by_id.get(outbox_integration or "")
        if health is None:
            continue
        if state == "dead":
            health.dead_deliveries += count
        else:
            health.pending_deliveries += count
            oldest = _aware(oldest_created)
            if oldest is not None and (health.oldest_pending_at is None or oldest < health.oldest_pending_at):
                health.oldest_pending_at = oldest
    latest_attempt = (
        select(func.max(DeliveryAttemptRow.id))
        .where(DeliveryAttemptRow.outbox_id == OutboxRow.id)
        .correlate(OutboxRow)
        .scalar_subquery()
    )
    for refused_integration, count in session.execute(
        select(OutboxRow.integration_id, func.count())
        .join(DeliveryAttemptRow, and_(DeliveryAttemptRow.id == latest_attempt))
        .where(OutboxRow.state.in_(("pending", "dead")), DeliveryAttemptRow.error_class == "needs_human")
        .group_by(OutboxRow.integration_id)
    ):
        if refused_integration in by_id:
            by_id[refused_integration or ""].credentials_refused = count
    for result_integration, last_result in session.execute(
        select(OrderRow.integration_id, func.max(ResultRevisionRow.created_at))
        .join(OrderRow, OrderRow.latest_result_id == ResultRevisionRow.id)
        .group_by(OrderRow.integration_id)
    ):
        if result_integration in by_id:
            by_id[result_integration].last_result_at = _aware(last_result)
    dead_webhooks = session.scalar(
        select(func.count()).select_from(OutboxRow).where(OutboxRow.state == "dead", OutboxRow.integration_id.is_(None))
    )
    ordered = sorted(by_id.values(), key=lambda h: (not h.needs_human, h.integration.created_at))
    return Overview(ordered, dead_webhooks or 0)


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates come back without the column type: naive UTC on SQLite (sometimes as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
