"""The connector contract, for the sandbox ATS."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request

from assessment_hub.assessment import service
from assessment_hub.connectors.sandbox.orders import create_sandbox_order
from assessment_hub.connectors.sandbox.service import set_outage, show_order
from assessment_hub.db.session import unit_of_work
from tests.connectors.contract import ConnectorContract
from tests.support import Hub, Tenant, serve_in_thread, wait_until


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
        return {
            "status": last["status"].lower(),
            "score": last["score"],
            "url": last["result_url"],
            "attachments": len(last["attachments"]),
            "message": None,
        }

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


def test_writeback_url_mirrors_each_write_back_over_http(hub: Hub) -> None:
    received: list[dict] = []
    ats = FastAPI()

    @ats.post("/writebacks")
    async def accept(request: Request) -> dict:
        received.append(await request.json())
        return {}

    with serve_in_thread(ats) as url:
        tenant = hub.new_tenant("sandbox", settings={"writeback_url": f"{url}/writebacks"})
        tenant.publish("1001")
        order_id = tenant.create_order()
        tenant.put_result(order_id, {"status": "COMPLETED", "result_url": "https://v.example/1", "score": 3})
        (mirrored,) = wait_until(lambda: received, what="the mirrored write-back")
    assert (mirrored["order_id"], mirrored["revision"], mirrored["score"]) == (order_id, 1, 3)


def test_unknown_sandbox_setting_is_refused(hub: Hub) -> None:
    from assessment_hub.connectors.base import SettingsError

    with pytest.raises(SettingsError, match="writeback_url"):
        hub.new_tenant("sandbox", settings={"writeback_uri": "http://x"})
