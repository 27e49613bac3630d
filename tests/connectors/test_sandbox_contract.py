"""The connector contract, for the sandbox ATS."""

from __future__ import annotations

from typing import Any

import pytest

from assessment_hub.assessment import service
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.connectors.sandbox.service import set_outage, show_order
from assessment_hub.db.session import unit_of_work
from tests.connectors.contract import ConnectorContract
from tests.support import Hub, Tenant


class SandboxHarness:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.hub = tenant.hub

    def ats_packages(self) -> list[str]:
        with self.hub.sessions() as session:
            return [p.package_id for p in service.list_packages(session, self.tenant.integration_id)]

    def place_order(self, package_id: str, email: str) -> str:
        with unit_of_work(self.hub.sessions) as session:
            return create_sandbox_order(session, self.tenant.integration_id, package_id, email=email).id

    def shown(self, order_id: str) -> dict[str, Any] | None:
        with self.hub.sessions() as session:
            received = show_order(session, order_id)["writebacks"]
        if not received:
            return None
        last = received[-1]
        if last["kind"] == "rejection":
            return {"status": "rejected", "score": None, "url": None, "attachments": 0, "message": last["message"]}
        return {"status": last["status"].lower(), "score": last["score"], "url": last["result_url"],
                "attachments": len(last["attachments"]), "message": None}

    def cancel(self, order_id: str) -> None:
        raise NotImplementedError

    def outage(self, mode: str) -> None:
        with unit_of_work(self.hub.sessions) as session:
            set_outage(session, self.tenant.integration_id, "off" if mode == "ok" else mode)

    def break_credentials(self) -> None:
        self.outage("401")


class TestSandboxContract(ConnectorContract):
    tool = "sandbox"

    @pytest.fixture
    def harness(self, hub: Hub) -> SandboxHarness:
        return SandboxHarness(hub.new_tenant("sandbox"))
