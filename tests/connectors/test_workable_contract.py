"""The connector contract for Workable, driven through the product's simulator
(``assessment_hub.simulators.workable``), plus Workable's own rules: Bearer checks and ``{"status", "message"}``
refusals, ``GET /tests``, one order per ``callback_url``, the callback ``PUT`` body, callback hosts, warnings,
credentials given later, and ``integrations create --json``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from assessment_hub.assessment import intake
from assessment_hub.assessment.models import OrderRow
from assessment_hub.connecting import update_integration
from assessment_hub.connectors.base import SettingsError
from assessment_hub.connectors.inbound import integration_base_url
from assessment_hub.connectors.registry import connector_class
from assessment_hub.db.session import unit_of_work
from assessment_hub.delivery.models import OutboxRow
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.integrations.service import integration_settings
from assessment_hub.simulators.workable import CALLBACK_PREFIX, WorkableSimulator
from tests.connectors.contract import PDF, ConnectorContract
from tests.receiver import vendor_receiver
from tests.support import Hub, Tenant, key_env, wait_until

pytestmark = pytest.mark.live  # the simulator calls the hub over a socket

SHOWN_STATUS = {"pending": "open", "completed": "completed", "expired": "cancelled", "rejected": "rejected"}


class WorkableHarness:
    """Drives the Workable simulator against one hub integration."""

    def __init__(self, hub: Hub, sim: WorkableSimulator, *, allow_sim_host: bool = True, **settings: str) -> None:
        self.hub, self.sim = hub, sim
        given = sim.hub_settings()
        if not allow_sim_host:
            given.pop("allowed_callback_hosts")
        given.update(settings)
        self.tenant: Tenant = hub.new_tenant("workable", {k: v for k, v in given.items() if v})
        self.setup = connector_class("workable").setup(
            self.stored_settings(), integration_base_url(hub.base_url, self.tenant.integration_id)
        )
        sim.configure(self.setup)  # what the customer pastes into Workable
        self.keys: dict[str, str] = {}  # hub order id -> the simulator's callback id

    def stored_settings(self) -> dict[str, Any]:
        with self.hub.sessions() as session:
            return integration_settings(
                session.get(IntegrationRow, self.tenant.integration_id), self.hub.settings.cipher
            )

    def hub_order(self, key: str) -> str | None:
        url = self.sim.assessments[key]["request"]["callback_url"]
        with self.hub.sessions() as session:
            order = intake.find_order_by_remote(session, self.tenant.integration_id, ("callback_url",), url)
        return order.id if order else None

    # -- Harness protocol ------------------------------------------------------
    def ats_packages(self) -> list[str]:
        return [str(t["id"]) for t in self.sim.list_tests()]

    def place_order(self, package_id: str, email: str, **kwargs: Any) -> str:
        key = self.sim.create_assessment(package_id, email, **kwargs)
        order_id = self.hub_order(key)
        assert order_id and self.sim.assessments[key]["assessment_id"] == order_id
        self.keys[order_id] = key
        return order_id

    def puts(self, order_id: str) -> list[dict[str, Any]]:
        return self.sim.assessments[self.keys[order_id]]["puts"]

    def shown(self, order_id: str) -> dict[str, Any] | None:
        if not self.puts(order_id):
            return None
        state = self.sim.shown(self.keys[order_id])
        score = (state.get("assessment") or {}).get("score")
        return {
            "status": SHOWN_STATUS[state["status"]],
            "score": float(score) if score is not None else None,
            "url": state.get("results_url"),
            "attachments": len(state.get("attachments") or []),
            "message": None,
        }

    def cancel(self, order_id: str) -> None:
        raise NotImplementedError("Workable sends no cancellation to assessment providers")

    def outage(self, mode: str) -> None:
        self.sim.set_mode("503" if mode == "503" else "ok")

    def break_credentials(self) -> None:
        self.sim.break_credentials()


@pytest.fixture
def sim() -> Iterator[WorkableSimulator]:
    with WorkableSimulator(timeout=15) as simulator:
        yield simulator


class TestWorkableConnectorContract(ConnectorContract):
    tool = "workable"

    @pytest.fixture
    def harness(self, hub: Hub, sim: WorkableSimulator) -> WorkableHarness:
        return WorkableHarness(hub, sim)


# ---------------------------------------------------------------------- helpers


def publish(harness: WorkableHarness, *ids: str) -> None:
    ConnectorContract.publish(harness, *ids)


def put_result(harness: WorkableHarness, order_id: str, **body: Any) -> Any:
    return ConnectorContract.result(harness, order_id, **body)


def orders_of(hub: Hub, integration_id: str) -> list[OrderRow]:
    with hub.sessions() as session:
        return list(session.scalars(select(OrderRow).where(OrderRow.integration_id == integration_id)))


def writebacks(hub: Hub, order_id: str) -> list[OutboxRow]:
    with hub.sessions() as session:
        return list(
            session.scalars(select(OutboxRow).where(OutboxRow.order_id == order_id, OutboxRow.kind == "writeback"))
        )


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and isinstance(body["message"], str), body
    return body["message"]


# ---------------------------------------------------------------------- inbound


def test_a_wrong_token_is_refused_401(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim)
    publish(harness, "pkg-1")
    with WorkableSimulator() as other_sim:  # another customer's integration: its token is not this one's
        foreign = WorkableHarness(hub, other_sim).setup["token"]
    for token in ("wrong", foreign):
        assert_error(sim.request("GET", "/tests", token=token), 401)
        assert_error(sim.request("POST", "/assessments", token=token, json=sim.assessment_body("pkg-1")), 401)
    no_header = httpx.get(harness.setup["base_url"] + "/tests")
    assert_error(no_header, 401)
    unknown = httpx.get(harness.setup["base_url"].rsplit("/", 1)[0] + "/" + "X" * 24 + "/tests")
    assert_error(unknown, 404)
    assert_error(sim.request("GET", "/assessments/1/shared-link"), 404)
    assert orders_of(hub, harness.tenant.integration_id) == []


def test_tests_list_the_packages(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim)
    assert sim.list_tests() == []
    publish(harness, "pkg-1", "pkg-2")
    assert sim.list_tests() == [{"id": "pkg-1", "name": "Test pkg-1"}, {"id": "pkg-2", "name": "Test pkg-2"}]


def test_the_same_assessment_twice_makes_one_order(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim)
    publish(harness, "pkg-1")
    with vendor_receiver(hub, events=["assessment:order-received"]) as receiver:
        order_id = harness.place_order("pkg-1", "ada@example.com")
        again = sim.send_assessment(sim.assessments[harness.keys[order_id]]["request"])
        assert again.status_code == 200 and again.json() == {"assessment_id": order_id}
        wait_until(lambda: receiver.events_for(order_id), what="order-received")
        time.sleep(0.3)
        assert len(receiver.events_for(order_id)) == 1
    assert [o.id for o in orders_of(hub, harness.tenant.integration_id)] == [order_id]


def test_refused_assessments_make_no_order(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim)
    publish(harness, "pkg-1")
    assert "pkg-9" in assert_error(sim.send_assessment(sim.assessment_body("pkg-9")), 422)
    for mutate, mentions in (
        (lambda b: b.pop("callback_url"), "callback_url"),
        (lambda b: b.pop("test_id"), "test_id"),
        (lambda b: b["candidate"].pop("email"), "candidate.email"),
        (lambda b: b.update(callback_url="not a url"), "callback_url"),
    ):
        body = sim.assessment_body("pkg-1")
        mutate(body)
        assert mentions in assert_error(sim.send_assessment(body), 422)
    not_json = sim.request("POST", "/assessments", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_error(not_json, 400)
    assert orders_of(hub, harness.tenant.integration_id) == []


def test_order_mapping(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim)
    publish(harness, "7")
    key = sim.create_assessment("7", "jane@example.com", first_name="Jane", last_name="Doe", job_title="AI Engineer")
    order = harness.tenant.order(harness.hub_order(key) or "")
    assert order["package_id"] == "7"
    assert order["candidate"] == {
        "remote_id": None,
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": "+30 210 000 0000",
    }
    assert (order["job"]["remote_id"], order["job"]["name"]) == ("GROOV005", "AI Engineer")
    numeric = sim.assessment_body("7")
    numeric["test_id"] = 7  # Workable's example ids are numbers
    assert sim.send_assessment(numeric).status_code == 201
    with hub.sessions() as session:
        row = session.get(OrderRow, order["id"])
    assert row.remote_data == sim.assessments[key]["request"]


def test_refused_callback_host_takes_the_order_and_warns(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim, allow_sim_host=False)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(harness, order_id, status="COMPLETED", score=5, max_score=10)
    assert any("allowed_callback_hosts" in w.message and order_id in w.message for w in response.warnings)
    (row,) = wait_until(lambda: [r for r in writebacks(hub, order_id) if r.state == "dead"], what="dead write-back")
    assert "allowed_callback_hosts" in (row.last_error or "")
    assert harness.puts(order_id) == [] and sim.requests == []


# ---------------------------------------------------------------------- write-back


def test_callback_body_and_warnings(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    opened = put_result(harness, order_id, status="OPEN", score=3, max_score=50)
    assert any("pending only" in w.message for w in opened.warnings), opened.warnings
    wait_until(lambda: harness.puts(order_id), what="the pending PUT")
    assert harness.puts(order_id) == [{"status": "pending"}]
    response = put_result(
        harness,
        order_id,
        status="COMPLETED",
        score=41,
        max_score=50,
        completed_at="2024-05-01T10:00:00Z",
        attributes=[
            {"type": "TEXT", "label": "Summary", "value": "Solid"},
            {
                "type": "SUB_RESULT",
                "id": "a",
                "label": "Logic",
                "score": {"value": 9, "max": 10},
                "status": "COMPLETED",
            },
            {"type": "SUB_RESULT", "id": "b", "label": "Logic", "score": {"value": 1, "max": 4}, "status": "COMPLETED"},
        ],
        attachments=[{"name": "report.pdf", "content_type": "application/pdf", "data": base64.b64encode(PDF).decode()}],
    )
    messages = [w.message for w in response.warnings]
    assert any("41/50 is shown as 82" in m for m in messages) and any("expire" in m for m in messages), messages
    wait_until(lambda: len(harness.puts(order_id)) == 2, what="the completed PUT")
    body = harness.puts(order_id)[1]
    (attachment,) = body.pop("attachments")
    assert attachment["description"] == "report.pdf"
    link = urlsplit(attachment["url"])
    assert httpx.get(f"{hub.base_url}{link.path}?{link.query}").content == PDF
    assert body == {
        "status": "completed",
        "results_url": "https://vendor.example/results/" + order_id,
        "assessment": {
            "score": "82",
            "summary": "Summary: Solid",
            "details": {"Logic": "9/10 (90%)", "Logic (2)": "1/4 (25%)"},
        },
    }
    (put,) = [r for r in sim.received if r.json == harness.puts(order_id)[1]]
    assert put.method == "PUT" and put.path == CALLBACK_PREFIX + harness.keys[order_id]
    assert put.headers["authorization"] == f"Bearer {sim.api_token}" and sim.rejected == []


def test_a_completed_result_without_an_http_url_is_not_sent(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    response = put_result(harness, order_id, status="COMPLETED", score=1, max_score=2, result_url="urn:x")
    assert any("requires an http(s) result_url" in w.message for w in response.warnings), response.warnings
    (row,) = wait_until(lambda: [r for r in writebacks(hub, order_id) if r.state == "dead"], what="dead write-back")
    assert "results_url" in (row.last_error or "") and harness.puts(order_id) == []


def test_credentials_given_later_with_update(hub: Hub, sim: WorkableSimulator) -> None:
    harness = WorkableHarness(hub, sim, api_token="")
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    put_result(harness, order_id, status="COMPLETED", score=5, max_score=10)
    (row,) = wait_until(lambda: [r for r in writebacks(hub, order_id) if r.state == "dead"], what="dead write-back")
    assert "integrations update" in (row.last_error or "")
    with unit_of_work(hub.sessions) as session:
        update_integration(
            session, harness.tenant.integration_id, {"api_token": sim.api_token}, cipher=hub.settings.cipher
        )
    assert harness.stored_settings()["token"] == harness.setup["token"]  # the set-up still holds
    put_result(harness, order_id, status="COMPLETED", score=6, max_score=10)
    wait_until(lambda: harness.puts(order_id), what="the PUT after the update")


# ---------------------------------------------------------------------- settings and CLI


def test_settings_are_checked() -> None:
    prepare = connector_class("workable").prepare_settings
    with pytest.raises(SettingsError, match="nope"):
        prepare({"nope": "1"})
    with pytest.raises(SettingsError, match="allowed_callback_hosts"):
        prepare({"allowed_callback_hosts": "a b"})
    settings = prepare({"api_token": " t "})
    assert settings["api_token"] == "t" and len(settings["token"]) > 30 and prepare({})["token"] != settings["token"]


@pytest.mark.subprocess
def test_cli_integrations_create_json(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSESSMENT_HUB_DATABASE_URL": database_url,
        **key_env(database_url),
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(tmp_path / "att"),
        "ASSESSMENT_HUB_PUBLIC_BASE_URL": "https://hub.example.com",
    }
    done = subprocess.run(
        [sys.executable, "-m", "assessment_hub.cli", "integrations", "create", "--tool", "workable"]
        + ["--organization", "Acme", "--setting", "api_token=wk", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"id", "tool", "setup"} and out["tool"] == "workable"
    assert set(out["setup"]) == {"base_url", "token"}
    connection = out["id"].split(":", 1)[1]
    assert out["setup"]["base_url"] == f"https://hub.example.com/connectors/workable/{connection}"


def test_capabilities_row() -> None:
    caps = connector_class("workable").capabilities
    assert caps.text_only_attributes and caps.shows_open_results and caps.accepts_attachments
    assert not caps.shows_rejection_message and not caps.ats_can_cancel


def test_the_console_preview_is_the_put_workable_then_receives(hub: Hub, sim: WorkableSimulator) -> None:
    """The write-back preview is built by the connector's own ``result_request``: method, URL, the headers
    (the token masked) and the body byte for byte are what the simulator then received."""
    from assessment_hub.delivery.preview import writeback_preview

    harness = WorkableHarness(hub, sim)
    publish(harness, "pkg-1")
    order_id = harness.place_order("pkg-1", "ada@example.com")
    put_result(harness, order_id, status="COMPLETED", score=7, max_score=10, completed_at="2024-05-01T10:00:00Z")
    with hub.sessions() as session:
        preview = writeback_preview(session, hub.settings, order_id)
    assert preview.request is not None, preview
    wait_until(lambda: harness.puts(order_id), timeout=20, what="the callback PUT")
    (sent,) = [r for r in sim.received if r.method == "PUT"]
    assert preview.request.method == "PUT" and urlsplit(preview.request.url).path == sent.path
    assert preview.request.body == sent.body  # byte for byte
    shown = dict(preview.request.headers)
    assert shown["Authorization"] == "Bearer ****" and sent.headers["authorization"].startswith("Bearer ")
    for name in ("Content-Type", "Accept", "User-Agent"):
        assert shown[name] == sent.headers[name.lower()]


def test_settings_are_declared_for_the_console_form() -> None:
    fields = {f.name: f for f in connector_class("workable").setting_fields}
    assert set(fields) == {"api_token", "allowed_callback_hosts"}
    assert fields["api_token"].secret and not any(f.required for f in fields.values())
