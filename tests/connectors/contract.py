"""The connector contract suite: one set of behaviours every ATS connector must show.

Each connector's test module subclasses ``ConnectorContract`` and supplies a ``harness`` fixture:
an object (``Harness`` protocol) that drives that ATS's fake through its own protocol. The vendor
side is always the official ``kombo`` SDK.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

import pytest
from sqlalchemy import select

from assessment_hub.connectors.base import Capabilities
from assessment_hub.connectors.registry import connector_class
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, wait_until

PDF = b"%PDF-1.4 contract suite report"


class Harness(Protocol):
    tenant: Tenant
    """The vendor's API key and this ATS integration."""

    def ats_packages(self) -> list[str]:
        """Package ids the ATS offers to recruiters (through the ATS's protocol)."""

    def place_order(self, package_id: str, email: str) -> str:
        """Order ``package_id`` for a candidate the way the ATS does; returns the hub's order id."""

    def shown(self, order_id: str) -> dict[str, Any] | None:
        """What the ATS shows for the order now, normalized: ``{"status": "open"|"completed"|"cancelled"|
        "rejected", "score": float|None, "url": str|None, "attachments": int, "message": str|None}``."""

    def cancel(self, order_id: str) -> None:
        """Cancel the order from the ATS (only for ``ats_can_cancel`` connectors)."""

    def outage(self, mode: str) -> None:
        """``"503"`` makes the ATS refuse write-backs, ``"ok"`` ends it."""

    def break_credentials(self) -> None:
        """Make the ATS refuse the hub's credentials from now on."""


class ConnectorContract:
    tool: str

    @property
    def capabilities(self) -> Capabilities:
        return connector_class(self.tool).capabilities

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def publish(harness: Harness, *ids: str) -> None:
        harness.tenant.sdk().assessment.set_packages(
            packages=[
                {"id": pid, "type": "SKILLS_TEST", "name": f"Test {pid}", "description": "contract"} for pid in ids
            ]
        )

    @staticmethod
    def result(harness: Harness, order_id: str, **body: Any) -> Any:
        body.setdefault("result_url", "https://vendor.example/results/" + order_id)
        return harness.tenant.sdk().assessment.update_order_result(assessment_order_id=order_id, **body)

    @staticmethod
    def wait_shown(harness: Harness, order_id: str, predicate: Any, what: str) -> dict[str, Any]:
        return wait_until(
            lambda: (shown := harness.shown(order_id)) and predicate(shown) and shown, timeout=20, what=what
        )

    def ordered(self, harness: Harness, package: str = "pkg-1") -> str:
        self.publish(harness, package)
        return harness.place_order(package, "candidate@example.com")

    # ------------------------------------------------------------------ the contract

    def test_ats_lists_the_vendors_packages(self, harness: Harness) -> None:
        self.publish(harness, "pkg-1", "pkg-2")
        assert sorted(harness.ats_packages()) == ["pkg-1", "pkg-2"]

    def test_order_reaches_the_vendor_as_a_signed_webhook(self, hub: Hub, harness: Harness) -> None:
        self.publish(harness, "pkg-1")
        with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
            order_id = harness.place_order("pkg-1", "ada@example.com")
            (delivery,) = wait_until(lambda: receiver.events_for(order_id), what="order-received")
            assert receiver.all_verified()
        data = delivery.event["data"]
        assert data["package_id"] == "pkg-1" and data["candidate"]["email"] == "ada@example.com"
        assert data["integration_id"] == harness.tenant.integration_id
        order = harness.tenant.order(order_id)
        assert order["status"] == "OPEN"

    def test_interim_open_result(self, harness: Harness) -> None:
        order_id = self.ordered(harness)
        response = self.result(harness, order_id, status="OPEN", score=10, max_score=100)
        if self.capabilities.shows_open_results:
            self.wait_shown(harness, order_id, lambda s: s["status"] == "open", "an open result in the ATS")
        else:
            assert any("OPEN" in w.message for w in response.warnings), response.warnings

    def test_final_result_then_correction(self, harness: Harness) -> None:
        order_id = self.ordered(harness)
        self.result(
            harness,
            order_id,
            status="COMPLETED",
            score=80,
            max_score=100,
            completed_at="2024-05-01T10:00:00Z",
            attributes=[
                {"type": "TEXT", "label": "Summary", "value": "Solid"},
                {
                    "type": "SUB_RESULT",
                    "id": "logic",
                    "label": "Logic",
                    "score": {"value": 40, "max": 50},
                    "status": "COMPLETED",
                },
            ],
        )
        shown = self.wait_shown(harness, order_id, lambda s: s["status"] == "completed", "the completed result")
        assert shown["score"] == 80
        assert shown["url"] == "https://vendor.example/results/" + order_id
        self.result(harness, order_id, status="COMPLETED", score=90, max_score=100, completed_at="2024-05-01T10:00:00Z")
        self.wait_shown(harness, order_id, lambda s: s["score"] == 90, "the corrected score")

    def test_attachment(self, harness: Harness) -> None:
        order_id = self.ordered(harness)
        response = self.result(
            harness,
            order_id,
            status="COMPLETED",
            score=1,
            max_score=2,
            completed_at="2024-05-01T10:00:00Z",
            attachments=[
                {"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}
            ],
        )
        if self.capabilities.accepts_attachments:
            self.wait_shown(harness, order_id, lambda s: s["attachments"] == 1, "the attachment in the ATS")
        else:
            assert any("attachment" in w.message.lower() for w in response.warnings), response.warnings

    def test_vendor_rejection(self, hub: Hub, harness: Harness) -> None:
        self.publish(harness, "pkg-1")
        with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
            receiver.answer = (422, '{"message": "Candidate email address is not valid"}')
            order_id = harness.place_order("pkg-1", "bad@example.com")
            wait_until(lambda: harness.tenant.order(order_id)["status"] == "REJECTED", what="rejection")
        if self.capabilities.shows_rejection_message:
            shown = self.wait_shown(harness, order_id, lambda s: s["status"] == "rejected", "the rejection in the ATS")
            assert shown["message"] == "Candidate email address is not valid"

    def test_cancel_from_the_ats(self, hub: Hub, harness: Harness) -> None:
        if not self.capabilities.ats_can_cancel:
            pytest.skip(f"{self.tool} cannot cancel an order")
        self.publish(harness, "pkg-1")
        with vendor_receiver(hub, events=["assessment:order-cancelled"]) as receiver:
            order_id = harness.place_order("pkg-1", "ada@example.com")
            harness.cancel(order_id)
            wait_until(lambda: receiver.events_for(order_id), what="order-cancelled webhook")
        assert harness.tenant.order(order_id)["status"] == "CANCELLED"

    def test_outage_and_recovery(self, hub: Hub, harness: Harness) -> None:
        order_id = self.ordered(harness)
        harness.outage("503")
        try:
            self.result(
                harness, order_id, status="COMPLETED", score=5, max_score=10, completed_at="2024-05-01T10:00:00Z"
            )
            wait_until(lambda: any(r.attempts >= 2 for r in _writebacks(hub, order_id)), what="retries")
        finally:
            harness.outage("ok")
        self.wait_shown(harness, order_id, lambda s: s["status"] == "completed", "the result after recovery")

    def test_bad_credentials_need_a_human(self, hub: Hub, harness: Harness) -> None:
        order_id = self.ordered(harness)
        harness.break_credentials()
        self.result(harness, order_id, status="COMPLETED", score=5, max_score=10, completed_at="2024-05-01T10:00:00Z")
        (row,) = wait_until(
            lambda: [r for r in _writebacks(hub, order_id) if r.state == "dead"],
            what="the write-back to be parked as dead",
        )
        with hub.sessions() as session:
            classes = {
                a.error_class
                for a in session.scalars(select(DeliveryAttemptRow).where(DeliveryAttemptRow.outbox_id == row.id))
            }
        assert classes == {"needs_human"}
        assert row.attempts == hub.settings.needs_human_max_attempts  # not endless retries


def _writebacks(hub: Hub, order_id: str) -> list[OutboxRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(
                select(OutboxRow)
                .where(OutboxRow.order_id == order_id, OutboxRow.kind == "writeback")
                .order_by(OutboxRow.id)
            )
        )
