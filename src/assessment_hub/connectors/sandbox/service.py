"""Operating the sandbox ATS: inspect an order with what the ATS received, switch outages, reset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from assessment_hub.assessment.models import AttachmentRow, OrderRow, PackageRow, ResultRevisionRow
from assessment_hub.assessment.views import order_view
from assessment_hub.connectors.sandbox.models import SandboxStateRow, SandboxWritebackRow
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.errors import InputInvalid, NotFound
from assessment_hub.integrations.service import get_active_integration, get_integration
from assessment_hub.kit.timestamps import format_instant, utcnow

OUTAGE_MODES = ("off", "503", "timeout", "flaky", "401")


def sandbox_integration(session: Session, integration_id: str, *, active: bool = False):
    """The live sandbox integration (ACTIVE too with ``active``); raises ``IntegrationNotFound`` or
    ``InputInvalid`` (another tool)."""
    integration = (get_active_integration if active else get_integration)(session, integration_id)
    if integration.tool != "sandbox":
        raise InputInvalid(f"Integration {integration_id} is a {integration.tool} integration, not a sandbox.")
    return integration


def show_order(session: Session, order_id: str) -> dict[str, Any]:
    """The order as the API lists it, plus ``writebacks``: what the sandbox ATS received, in order."""
    order = session.scalar(
        select(OrderRow)
        .where(OrderRow.id == order_id)
        .options(selectinload(OrderRow.latest_result).selectinload(ResultRevisionRow.attachments))
    )
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.")
    received = session.scalars(
        select(SandboxWritebackRow).where(SandboxWritebackRow.order_id == order_id).order_by(SandboxWritebackRow.id)
    ).all()
    return sandbox_order_view(order, received)


def sandbox_order_view(order: OrderRow, received: Sequence[SandboxWritebackRow] = ()) -> dict[str, Any]:
    """``show_order``'s answer from the rows: the order (its ``latest_result`` loaded) and its write-backs."""
    view = order_view(order)
    view["integration_id"] = order.integration_id
    view["assessment_url"] = order.assessment_url
    view["writebacks"] = [
        {
            "kind": w.kind,
            "revision": w.revision,
            "status": w.status,
            "score": w.score,
            "max_score": w.max_score,
            "result_url": w.result_url,
            "message": w.message,
            "deliveries": w.deliveries,
            "received_at": format_instant(w.received_at),
            **w.payload,
        }
        for w in received
    ]
    return view


def outage_of(session: Session, integration_id: str) -> SandboxStateRow | None:
    """The sandbox's outage switch (None: never set, i.e. ``off``)."""
    return session.get(SandboxStateRow, integration_id)


def received_writebacks(session: Session, integration_id: str, limit: int = 50) -> list[SandboxWritebackRow]:
    """The latest write-backs the sandbox ATS received for the integration's orders, newest first."""
    return list(
        session.scalars(
            select(SandboxWritebackRow)
            .join(OrderRow, OrderRow.id == SandboxWritebackRow.order_id)
            .where(OrderRow.integration_id == integration_id)
            .order_by(SandboxWritebackRow.id.desc())
            .limit(limit)
        )
    )


def set_outage(session: Session, integration_id: str, mode: str, fail_ratio: float = 0.33) -> SandboxStateRow:
    """Make the sandbox ATS answer write-backs with 503 (``503``), not at all (``timeout``), with 503 for
    a share ``fail_ratio`` of them (``flaky``), refuse the hub's credentials (``401``), or answer
    normally (``off``)."""
    if mode not in OUTAGE_MODES:
        raise InputInvalid(f"mode: must be one of {', '.join(OUTAGE_MODES)} (got {mode!r}).")
    if not 0 <= fail_ratio <= 1:
        raise InputInvalid("fail_ratio: must be between 0 and 1.")
    sandbox_integration(session, integration_id)
    state = session.get(SandboxStateRow, integration_id)
    if state is None:
        state = SandboxStateRow(integration_id=integration_id)
        session.add(state)
    state.outage_mode, state.fail_ratio = mode, fail_ratio
    session.flush()
    return state


def reset(session: Session, integration_id: str) -> dict[str, int]:
    """Delete the sandbox's orders (with results and received write-backs) and packages, and cancel
    its undelivered messages. Returns what was removed."""
    sandbox_integration(session, integration_id)
    now = utcnow()
    cancelled = session.execute(
        update(OutboxRow)
        .where(OutboxRow.integration_id == integration_id, OutboxRow.state.in_(("pending", "in_flight")))
        .values(state="cancelled", finished_at=now, updated_at=now)
    ).rowcount
    order_ids = select(OrderRow.id).where(OrderRow.integration_id == integration_id)
    session.execute(delete(SandboxWritebackRow).where(SandboxWritebackRow.order_id.in_(order_ids)))
    revision_ids = select(ResultRevisionRow.id).where(ResultRevisionRow.order_id.in_(order_ids))
    session.execute(delete(AttachmentRow).where(AttachmentRow.revision_id.in_(revision_ids)))
    session.execute(delete(ResultRevisionRow).where(ResultRevisionRow.order_id.in_(order_ids)))
    orders = session.execute(delete(OrderRow).where(OrderRow.integration_id == integration_id)).rowcount
    packages = session.execute(delete(PackageRow).where(PackageRow.integration_id == integration_id)).rowcount
    session.flush()
    return {"orders": orders, "packages": packages, "cancelled_deliveries": cancelled}
