"""Operating the sandbox ATS: inspect an order with what the ATS received, switch outages, reset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assessment_hub.assessment import intake
from assessment_hub.connectors.sandbox.models import SandboxStateRow, SandboxWritebackRow
from assessment_hub.errors import InputInvalid
from assessment_hub.kit.states import OrderStatus
from assessment_hub.kit.timestamps import format_instant

OUTAGE_MODES = ("off", "503", "timeout", "flaky", "401")


def sandbox_integration(session: Session, integration_id: str, *, active: bool = False) -> intake.Integration:
    """The live sandbox integration (ACTIVE too with ``active``); raises ``IntegrationNotFound`` or
    ``InputInvalid`` (another tool)."""
    integration = intake.integration(session, integration_id, active=active)
    if integration.tool != "sandbox":
        raise InputInvalid(f"Integration {integration_id} is a {integration.tool} integration, not a sandbox.")
    return integration


def show_order(session: Session, order_id: str) -> dict[str, Any]:
    """The order as the API lists it (with ``integration_id`` and ``assessment_url``), plus ``writebacks``:
    what the sandbox ATS received, in order. Raises ``NotFound``. For an order just created in ``session``
    (it has no write-backs yet) no query is made."""
    view = intake.order_view(session, order_id)
    received: Sequence[SandboxWritebackRow] = ()
    if view["result"] is not None or view["status"] != OrderStatus.OPEN:
        received = session.scalars(
            select(SandboxWritebackRow).where(SandboxWritebackRow.order_id == order_id).order_by(SandboxWritebackRow.id)
        ).all()
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


def received_writebacks(session: Session, order_ids: Sequence[str]) -> list[SandboxWritebackRow]:
    """The write-backs the sandbox ATS received for these orders, newest first."""
    if not order_ids:
        return []
    return list(
        session.scalars(
            select(SandboxWritebackRow)
            .where(SandboxWritebackRow.order_id.in_(list(order_ids)))
            .order_by(SandboxWritebackRow.id.desc())
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
    return intake.remove_orders(session, integration_id)  # write-backs go with their orders (ON DELETE CASCADE)
